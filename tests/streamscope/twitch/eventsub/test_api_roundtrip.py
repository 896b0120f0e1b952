"""Recorded EventSub chat frames -> classify -> WarehouseWriter -> the real warehouse -> the HTTP API.

The answers are checked field by field against the recorded JSON, read here with ``json`` only.
"""

from __future__ import annotations

import calendar
import json
from typing import Any

from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from streamscope.api import create_app
from streamscope.records import RawEvent
from streamscope.settings import Settings
from streamscope.sinks.clickhouse import WarehouseWriter
from streamscope.twitch.eventsub.rows import classify
from tests.streamscope.twitch.eventsub.conftest import CHAT_EVENTS, WS_MESSAGES, frame_text, payload, wrap

PAJLADA = 11148817


def stamp(second: int) -> tuple[str, int]:
    return f"2024-05-14T12:31:{second:02d}.123456789Z", calendar.timegm(
        (2024, 5, 14, 12, 31, second)
    ) * 1000 + 123


def pajlada_frames() -> list[tuple[str, int, dict[str, Any]]]:
    """The three real #pajlada messages, one second apart, as frames (text, sent ms, event)."""
    events = [
        e
        for e in json.loads(CHAT_EVENTS.read_text(encoding="utf-8"))
        if e["broadcaster_user_login"] == "pajlada"
    ]
    sub = {"id": "s", "type": "channel.chat.message", "version": "1", "status": "enabled", "condition": {}}
    out = []
    for i, ev in enumerate(events):
        ts, ms = stamp(10 + i)
        out.append(
            (
                wrap({"subscription": sub, "event": ev}, f"00000000-0000-4000-8000-0000000000{i:02d}", ts),
                ms,
                ev,
            )
        )
    return out


def load(client: Client, texts: list[str]) -> None:
    writer = WarehouseWriter(client)
    writer.add(classify([RawEvent("", "", t, 1_715_690_000_000, "eventsub") for t in texts], {}))
    report = writer.flush()
    assert report.dead_letters == 0


def test_messages_and_events_through_the_api(warehouse: Client) -> None:
    frames = pajlada_frames()
    assert len(frames) == 3
    # A moderator deletes the second message (the real message_delete payload, aimed at it).
    delete = payload("channel.chat.message_delete.v1-1.json")
    ev = delete["event"]
    assert isinstance(ev, dict)
    target = frames[1][2]
    ev.update(
        broadcaster_user_id=str(PAJLADA), broadcaster_user_login="pajlada", broadcaster_user_name="pajlada",
        target_user_id=target["chatter_user_id"], target_user_login=target["chatter_user_login"],
        target_user_name=target["chatter_user_name"], message_id=target["message_id"],
    )  # fmt: skip
    delete_ts, delete_ms = stamp(30)
    resub = frame_text(WS_MESSAGES / "channel.chat.notification-resub-msg.json")
    texts = [f[0] for f in frames] + [wrap(delete, "6d1fc5b1-7e2c-4f4c-9f4c-4d3f0b1c2a01", delete_ts), resub]
    # At-least-once delivery: the same frames again change nothing.
    load(warehouse, texts)
    load(warehouse, texts)

    with TestClient(create_app(Settings(), warehouse)) as http:
        page = http.get("/v1/channels/pajlada/messages", params={"limit": 10})
        assert page.status_code == 200, page.text
        messages = page.json()["messages"]
        assert [m["id"] for m in messages] == [f[2]["message_id"] for f in frames]
        for m, (_, sent_ms, ev) in zip(messages, frames, strict=True):
            assert m["text"] == ev["message"]["text"]
            assert m["sent_timestamp"] == sent_ms
            assert m["room"] == {"id": PAJLADA, "login": "pajlada"}
            assert m["user"]["id"] == int(ev["chatter_user_id"])
            assert m["user"]["login"] == ev["chatter_user_login"]
            assert m["user"]["color"] == ev["color"]
            assert m["user"]["badges"] == [{"name": b["set_id"], "version": b["id"]} for b in ev["badges"]]
            assert m["user"]["badge_info"] == [
                {"name": b["set_id"], "version": b["info"]} for b in ev["badges"] if b["info"]
            ]
            assert m["user"]["is_broadcaster"] is True  # pajlada chatting in #pajlada
            reply = ev["reply"] or {}
            assert m["reply_parent_msg_id"] == reply.get("parent_message_id")
            assert m["reply_parent_user_login"] == reply.get("parent_user_login")
            assert m["reply_parent_msg_body"] == reply.get("parent_message_body")
            assert m["reply_thread_parent_msg_id"] == reply.get("thread_message_id")
        assert [m["deleted"] for m in messages] == [False, True, False]
        assert messages[1]["moderation"] == [{"kind": "delete", "at": delete_ms, "duration_s": None}]

        events = http.get("/v1/channels/pajlada/events").json()["events"]
        assert [(e["kind"], e["command"], e["at"]) for e in events] == [("delete", "CLEARMSG", delete_ms)]
        assert events[0]["target"] == {"id": PAJLADA, "login": "pajlada", "message_id": target["message_id"]}

        resub_ev = json.loads(resub)["payload"]["event"]
        channel = resub_ev["broadcaster_user_login"]
        subs = http.get(f"/v1/channels/{channel}/events", params={"kind": "resub"}).json()["events"]
        assert len(subs) == 1
        assert subs[0]["id"] == resub_ev["message_id"]
        assert subs[0]["user"] == {
            "id": int(resub_ev["chatter_user_id"]),
            "login": resub_ev["chatter_user_login"],
            "display_name": resub_ev["chatter_user_name"],
        }
        assert subs[0]["text"] == resub_ev["message"]["text"]
        assert subs[0]["system_message"] == resub_ev["system_message"]
        assert subs[0]["msg_params"]["cumulative-months"] == str(resub_ev["resub"]["cumulative_months"])
