"""Real recorded EventSub frames from tests/data/eventsub (see its SOURCES.md).

``frame_text`` reads a complete WebSocket frame as recorded. ``wrap`` turns a recorded
webhook-shaped ``{subscription, event}`` payload (twitch_api/payloads) into the WebSocket frame
Twitch sends for it: the same object as ``payload`` of a ``notification`` frame whose metadata
names the subscription (EventSub WebSocket reference); only the metadata is made up here.
"""

from __future__ import annotations

import json
from pathlib import Path

from streamscope.records import RawEvent
from tests.data import EVENTSUB

WS_MESSAGES = EVENTSUB / "chatterino2" / "ws-messages"
PAYLOADS = EVENTSUB / "twitch_api" / "payloads"
WEBSOCKET = EVENTSUB / "twitch_api" / "websocket"
BENCHMARK = EVENTSUB / "chatterino2" / "benchmark-messages.ndjson"
CHAT_EVENTS = EVENTSUB / "chatterino2" / "channel.chat.message-events.json"


def frame_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def wrap(payload: dict[str, object], message_id: str, timestamp: str) -> str:
    sub = payload["subscription"]
    assert isinstance(sub, dict)
    meta = {
        "message_id": message_id,
        "message_type": "notification",
        "message_timestamp": timestamp,
        "subscription_type": sub["type"],
        "subscription_version": sub["version"],
    }
    return json.dumps({"metadata": meta, "payload": payload})


def payload(name: str) -> dict[str, object]:
    data = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def raw(text: str, channel: str = "", received_at: int = 1_700_000_000_000) -> RawEvent:
    try:
        kind = str(json.loads(text)["metadata"].get("subscription_type", ""))
    except (ValueError, KeyError):
        kind = ""
    return RawEvent(channel, kind, text, received_at, "eventsub")


def benchmark_frames() -> list[str]:
    return [line for line in BENCHMARK.read_text(encoding="utf-8").split("\n") if line]
