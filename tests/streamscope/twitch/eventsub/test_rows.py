"""EventSub frames -> the IRC warehouse rows: exact values from the recorded frames."""

from __future__ import annotations

import calendar
import json
from typing import Any

from streamscope.twitch.eventsub.rows import classify
from streamscope.twitch.irc.rows import EVENT_COLUMNS, MESSAGE_COLUMNS, rebuild_message_line
from tests.streamscope.twitch.eventsub.conftest import (
    CHAT_EVENTS,
    WEBSOCKET,
    WS_MESSAGES,
    benchmark_frames,
    frame_text,
    payload,
    raw,
    wrap,
)

T0 = "2024-05-14T12:31:47.995298776Z"
T0_MS = calendar.timegm((2024, 5, 14, 12, 31, 47)) * 1000 + 995


def message(text: str) -> dict[str, Any]:
    batch = classify([raw(text)], {})
    assert len(batch.messages) == 1, batch
    return dict(zip(MESSAGE_COLUMNS, batch.messages[0], strict=True))


def event(text: str) -> dict[str, Any]:
    batch = classify([raw(text)], {})
    assert len(batch.events) == 1, batch
    return dict(zip(EVENT_COLUMNS, batch.events[0], strict=True))


def chat_event_frame(index: int) -> str:
    """One of the five real channel.chat.message events, as the frame Twitch sends it."""
    ev = json.loads(CHAT_EVENTS.read_text(encoding="utf-8"))[index]
    sub = {"id": "s", "type": "channel.chat.message", "version": "1", "status": "enabled", "condition": {}}
    return wrap({"subscription": sub, "event": ev}, f"00000000-0000-4000-8000-00000000000{index}", T0)


def test_chat_message_row() -> None:
    text = frame_text(WS_MESSAGES / "channel.chat.message.json")
    ids: dict[str, int] = {}
    batch = classify([raw(text, "streamer", 1_715_689_908_000)], ids)
    assert (len(batch.events), len(batch.dead_letters), batch.control) == (0, 0, 0)
    row = dict(zip(MESSAGE_COLUMNS, batch.messages[0], strict=True))
    assert row == {
        "channel_id": 1971641,
        "channel": "streamer",
        "sent_at": T0_MS,
        "message_id": "cc106a89-1814-919d-454c-f4f2f970aae7",
        "user_id": 4145994,
        "user_login": "viewer32",
        "display_name": "viewer32",
        "text": "Hi chat",
        "is_action": False,
        "bits": 0,
        "color": "#00FF7F",
        "badges": "moderator/1,subscriber/12,sub-gifter/1",
        "badge_info": "subscriber/16",
        "emotes": "",
        "tag_layout": "",
        "tags": {"source-room-id": "112233", "source-id": "e03f6d5d-8ec8-4c63-b473-9e5fe61e289b"},
        "raw_fallback": text,
        "received_at": 1_715_689_908_000,
        "source": "eventsub",
    }
    assert ids == {"streamer": 1971641} and batch.channels == {1971641: "streamer"}
    # The raw data is kept: the stored row gives back the frame exactly as received.
    assert rebuild_message_line(row) == text


def test_emotes_cheers_and_reward() -> None:
    row = message(chat_event_frame(4))
    assert row["text"] == "test Cheer1  xD forsenE asd trizzeCheer1  xD"
    assert row["emotes"] == "521050:16-22"
    assert row["text"][16:23] == "forsenE"
    assert (row["bits"], row["channel"], row["channel_id"], row["badges"]) == (
        2,
        "trizze",
        14824099,
        "partner/1",
    )
    reward = message(chat_event_frame(1))
    assert reward["tags"] == {"custom-reward-id": "1ed437f5-9dc3-4510-8a3f-abcad67985e1"}
    assert reward["badge_info"] == "subscriber/94"
    # A display name in Hangul (testaccount_420's broadcaster name) does not matter to the row.
    assert message(chat_event_frame(0))["display_name"] == "StreamElements"


def test_reply_tags_use_irc_names_and_escaping() -> None:
    row = message(chat_event_frame(2))
    assert row["text"] == "@pajbot xD"
    assert row["tags"] == {
        "reply-parent-msg-id": "83ce13ca-09f4-42c1-ab48-742b264d5af3",
        "reply-parent-user-id": "82008718",
        "reply-parent-user-login": "pajbot",
        "reply-parent-display-name": "pajbot",
        "reply-parent-msg-body": "xD",
        "reply-thread-parent-msg-id": "83ce13ca-09f4-42c1-ab48-742b264d5af3",
        "reply-thread-parent-user-id": "82008718",
        "reply-thread-parent-user-login": "pajbot",
        "reply-thread-parent-display-name": "pajbot",
    }
    data = json.loads(chat_event_frame(2))
    data["payload"]["event"]["reply"]["parent_message_body"] = "a b;c\\d"
    assert message(json.dumps(data))["tags"]["reply-parent-msg-body"] == "a\\sb\\:c\\\\d"


def test_resub_notification() -> None:
    text = next(t for t in benchmark_frames() if "GIB MIR DEN POKAL" in t)
    row = event(text)
    ev = json.loads(text)["payload"]["event"]
    assert (row["command"], row["kind"], row["text"]) == ("USERNOTICE", "resub", "GIB MIR DEN POKAL")
    assert (row["channel"], row["channel_id"]) == ("amar", int(ev["broadcaster_user_id"]))
    assert row["event_id"] == ev["message_id"]
    assert (row["user_id"], row["user_login"]) == (int(ev["chatter_user_id"]), ev["chatter_user_login"])
    assert row["system_message"] == ev["system_message"]
    resub = ev["resub"]
    params = {k: v for k, v in row["tags"].items() if k.startswith("msg-param-")}
    assert params["msg-param-cumulative-months"] == str(resub["cumulative_months"])
    assert params["msg-param-sub-plan"] == ("Prime" if resub.get("is_prime") else resub["sub_tier"])
    assert params["msg-param-was-gifted"] == ("true" if resub["is_gift"] else "false")
    assert row["raw"] == text and row["duration_s"] == 0


def test_notice_kinds_match_irc_msg_ids() -> None:
    kinds = {}
    for name in sorted(WS_MESSAGES.glob("channel.chat.notification-*.json")):
        kinds[name.stem.removeprefix("channel.chat.notification-")] = event(frame_text(name))["kind"]
    assert kinds == {
        "community-sub-gift": "submysterygift",
        "pay-it-forward": "communitypayforward",
        "resub": "resub",
        "resub-2": "resub",
        "resub-msg": "resub",
        "shared-chat-resub": "sharedchatnotice",
    }
    gift = event(wrap(payload("channel.chat.notification.v1-4.json"), "m", T0))
    assert (gift["user_id"], gift["user_login"]) == (0, "")  # anonymous gifter
    assert gift["tags"]["msg-param-mass-gift-count"] == "1"
    assert gift["tags"]["msg-param-community-gift-id"] == "12111455614691086753"
    forward = event(wrap(payload("channel.chat.notification.v1-7.json"), "m", T0))
    assert forward["kind"] == "standardpayforward"
    assert (forward["target_user_id"], forward["target_login"]) == (924524794, "melizhr")
    assert forward["tags"]["msg-param-prior-gifter-user-name"] == "sarius05"
    odd = event(wrap(payload("channel.chat.notification.v1-12.json"), "m", T0))
    assert (odd["kind"], odd["tags"]["msg-param-months"]) == ("modiversary", "48")
    # Twitch's id here is not a UUID: a UUID derived from it stands in, the same every time.
    bad_id = wrap(payload("channel.chat.notification.v1-1.json"), "m", T0)
    assert event(bad_id)["event_id"] == event(bad_id)["event_id"] != "d62235c8-47ff-a4f4--84e8-5a29a65a9c03"


def test_moderation_events() -> None:
    delete = event(
        wrap(payload("channel.chat.message_delete.v1-1.json"), "6d1fc5b1-7e2c-4f4c-9f4c-4d3f0b1c2a01", T0)
    )
    assert (delete["command"], delete["kind"], delete["at"]) == ("CLEARMSG", "delete", T0_MS)
    assert (delete["target_user_id"], delete["target_login"]) == (7734, "uncool_viewer")
    assert delete["target_message_id"] == "ab24e0b0-2260-4bac-94e4-05eedd4ecd0e"
    assert delete["event_id"] == "6d1fc5b1-7e2c-4f4c-9f4c-4d3f0b1c2a01"
    clear_user = event(wrap(payload("channel.chat.clear_user_messages.v1-1.json"), "m", T0))
    assert (clear_user["command"], clear_user["kind"]) == ("CLEARCHAT", "clear_user_messages")
    assert (clear_user["target_user_id"], clear_user["channel"], clear_user["channel_id"]) == (
        7734,
        "cool_user",
        1337,
    )
    clear = event(wrap(payload("channel.chat.clear.v1-1.json"), "m", T0))
    assert (clear["command"], clear["kind"], clear["target_user_id"]) == ("CLEARCHAT", "clear", 0)
    ban = event(wrap(payload("channel.ban.v1-1.json"), "m", T0))
    banned_at = calendar.timegm((2020, 7, 15, 18, 15, 11)) * 1000 + 171
    assert (ban["kind"], ban["duration_s"], ban["at"]) == ("timeout", 60, banned_at)
    assert (ban["target_login"], ban["user_login"], ban["text"]) == (
        "cool_user",
        "mod_user",
        "Offensive language",
    )


def test_every_frame_lands_in_exactly_one_place() -> None:
    frames = benchmark_frames()
    frames += [frame_text(p) for p in sorted(WEBSOCKET.glob("*.json"))]
    frames += ["{broken", '{"metadata": {"message_type": "notification"}}']
    batch = classify([raw(t) for t in frames], {})
    # benchmark: 2 chat messages, 10 notifications, 1 channel.ban; 7 channel.moderate are not chat
    # rows (unsupported -> dead letters); stream.online/offline, channel.update, welcome -> control.
    # websocket/: 2 channel.follow notifications -> dead letters; the other 4 frames -> control.
    assert (len(batch.messages), len(batch.events), batch.control) == (2, 11, 4 + 4)
    reasons = [d[4] for d in batch.dead_letters]
    assert reasons == ["unsupported subscription type 'channel.moderate'"] * 7 + [
        "unsupported subscription type 'channel.follow'"
    ] * 2 + [
        "invalid JSON: unexpected character, expected a string key: line 1 column 2 (char 1)",
        "frame.payload is not an object",
    ]
    assert [d[5] for d in batch.dead_letters][-2:] == frames[-2:]
    assert len(batch.messages) + len(batch.events) + len(batch.dead_letters) + batch.control == len(frames)


def test_channel_ids_fill_in_and_learn() -> None:
    ids = {"cool_user": 1337}
    batch = classify([raw(wrap(payload("channel.chat.clear.v1-1.json"), "m", T0))], ids)
    assert batch.channels == {1337: "cool_user"} and ids == {"cool_user": 1337}
