"""YouTube chat: chat-downloader's own recorded items (real innertube actions it converted) through
the converter and the capture runner; and the clear error when chat-downloader is missing."""

from __future__ import annotations

import io
import json
import sys
import uuid
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

import pytest

from streamscope.capture import capture, resolve
from streamscope.capture.youtube import INSTALL_HINT, MissingExtra, item_message, youtube
from streamscope.settings import Settings
from tests.data import VOD

RECORDED = json.loads((VOD / "chat-downloader" / "youtube_actions_to_chat_downloader_items.json").read_text())
ITEMS: list[dict[str, Any]] = [pair["chat_downloader_item"] for pair in RECORDED]
VIDEO = "jfKfPfyJRdk"
RECEIVED = 1_700_000_000_000


def derived(item: Mapping[str, Any]) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "youtube-item:" + json.dumps(item, sort_keys=True)))


def author(name: str, display: str, badges: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": None,
        "name": name,
        "display_name": display,
        "badges": [{"name": b, "version": ""} for b in badges or []],
        "color": None,
    }


NOBODY = author("", "")


def line(
    message_id: str, message: str, timestamp: int, kind: str, who: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "message": message,
        "timestamp": timestamp,
        "message_type": kind,
        "author": who,
        "system_message": extra.get("system_message"),
        "target": extra.get("target"),
    }


def expected() -> list[dict[str, Any] | None]:
    """Per recorded item, the file object's fields that carry YouTube's data (None: not a chat line)."""
    i = [item.get("message_id", "") for item in ITEMS]
    return [
        line(i[0], "Consistency Level ASL \u2764\ufe0f", 1608118971079, "text_message",
             author("UCoVFvNv-7cuHNC9v_XKEXhA", "Naruto Uzumaki")),
        line(i[1], "Live chat replay is on. Messages that appeared when the stream was live will show up "
             "here.", 1608127142394, "viewer_engagement_message", NOBODY),
        line(i[2], "", 1587851737705, "membership_item",
             author("UCz4FjAv44II95JampuGwDTg", "bifta89", ["New member"]), system_message="New member"),
        line(i[3], "to UN Foundation (UNF)", 1587851967222, "donation_announcement", NOBODY),
        line(i[4], "", 1595761124656, "paid_sticker", author("UCbxQe7kUsbsGCre_cIc69bQ", "Kenley"),
             system_message="$9.99"),
        line(i[5], "Send a message every 60 seconds", 1608166198038, "mode_change_message", NOBODY),
        None,  # ticker copy of a paid sticker
        line(derived(ITEMS[7]), "", RECEIVED, "delete_message", NOBODY,
             target={"id": None, "name": "", "message_id": ITEMS[7]["target_message_id"]}),
        line(derived(ITEMS[8]), "", RECEIVED, "ban", NOBODY,
             target={"id": None, "name": "UCunTx7KcIG50KLggQdd5JEQ", "message_id": None}),
        None,  # placeholder
        None,  # ticker copy of a paid message
        None,  # ticker of a membership
        None,  # placeholder
    ]  # fmt: skip


FIELDS = ("message_id", "message", "timestamp", "message_type", "author", "system_message", "target")


def test_items_convert_to_file_messages_exactly() -> None:
    assert [i["message_type"] for i in ITEMS][6:] == [
        "ticker_paid_sticker_item", "deleted_message", "ban_user", "placeholder_item",
        "ticker_paid_message_item", "ticker_sponsor_item", "placeholder_item",
    ]  # fmt: skip
    for item, want in zip(ITEMS, expected(), strict=True):
        message = item_message(item, VIDEO, RECEIVED)
        if want is None:
            assert message is None
            continue
        assert message is not None
        got = message.to_dict()
        assert {k: got[k] for k in FIELDS} == want
        assert (got["channel"], got["channel_id"], got["emotes"], got["bits"]) == (VIDEO, None, [], 0)


def test_emotes_are_located_in_the_text() -> None:
    item = {
        **ITEMS[0],
        "message": "hi :yt: there :yt:",
        "emotes": [{"id": "UCkszU2WH9gy1mb0dV-11UJg/xx", "name": ":yt:", "is_custom_emoji": True}],
    }
    message = item_message(item, VIDEO, RECEIVED)
    assert message is not None
    assert message.emotes == [
        {"id": "UCkszU2WH9gy1mb0dV-11UJg/xx", "start": 3, "end": 6, "text": ":yt:"},
        {"id": "UCkszU2WH9gy1mb0dV-11UJg/xx", "start": 14, "end": 17, "text": ":yt:"},
    ]


def recorded_items(url: str) -> Iterable[Mapping[str, Any]]:
    assert url == f"https://www.youtube.com/watch?v={VIDEO}"
    return iter(ITEMS)


async def test_youtube_capture_writes_the_chat_lines_in_order() -> None:
    fp = io.BytesIO()
    target = resolve(f"https://www.youtube.com/watch?v={VIDEO}")
    runner = partial(youtube, source=recorded_items)
    reason = await capture(target, "jsonl", fp, Settings(), runner=runner)
    got = [json.loads(line) for line in fp.getvalue().decode().split("\n") if line]
    want = [w for w in expected() if w is not None]
    assert reason == "end"
    assert len(got) == len(want) == 8
    for g, w in zip(got, want, strict=True):
        if w["timestamp"] == RECEIVED:  # items without a time get the time they were received
            w = {**w, "timestamp": g["timestamp"]}
            if w["message_type"] in ("delete_message", "ban"):
                assert g["timestamp"] > RECEIVED
        assert {k: g[k] for k in FIELDS} == w


async def test_youtube_capture_stops_at_max_messages() -> None:
    fp = io.BytesIO()
    target = resolve(f"https://youtu.be/{VIDEO}")
    reason = await capture(
        target,
        "csv",
        fp,
        Settings(),
        max_messages=3,
        runner=partial(youtube, source=lambda _url: iter(ITEMS)),
    )
    rows = fp.getvalue().decode().split("\r\n")
    assert reason == "max_messages"
    assert [r.split(",")[0] for r in rows[1:4]] == [
        ITEMS[0]["message_id"],
        ITEMS[1]["message_id"],
        ITEMS[2]["message_id"],
    ]
    assert rows[4:] == [""]


async def test_a_chat_downloader_error_fails_the_capture_with_its_message() -> None:
    def broken(_url: str) -> Iterable[Mapping[str, Any]]:
        yield ITEMS[0]
        raise RuntimeError("Video unavailable")

    fp = io.BytesIO()
    with pytest.raises(RuntimeError, match="^Video unavailable$"):
        await capture(
            resolve(f"https://youtu.be/{VIDEO}"),
            "json",
            fp,
            Settings(),
            runner=partial(youtube, source=broken),
        )
    assert [m["message_id"] for m in json.loads(fp.getvalue())] == [ITEMS[0]["message_id"]]  # closed, kept


async def test_missing_chat_downloader_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "chat_downloader", None)  # what `import` sees when it is not installed
    fp = io.BytesIO()
    with pytest.raises(MissingExtra) as err:
        await capture(resolve(f"https://youtu.be/{VIDEO}"), "jsonl", fp, Settings())
    assert (
        str(err.value)
        == INSTALL_HINT
        == "YouTube capture needs chat-downloader: pip install 'streamscope[youtube]'"
    )
