"""EventSub WebSocket frames: the recorded frames parse into exactly what they say; bad ones are refused."""

from __future__ import annotations

import calendar
import json

import pytest

from streamscope.twitch.eventsub import EventSubParseError, parse_frame, timestamp_ms
from tests.streamscope.twitch.eventsub.conftest import WEBSOCKET, WS_MESSAGES, benchmark_frames, frame_text


def ms(y: int, mo: int, d: int, h: int, mi: int, s: int, milli: int) -> int:
    return calendar.timegm((y, mo, d, h, mi, s)) * 1000 + milli


def test_welcome() -> None:
    f = parse_frame(frame_text(WEBSOCKET / "ws-session_welcome-1.json"))
    assert (f.message_type, f.message_id) == ("session_welcome", "96a3f3b5-5dec-4eed-908e-e11ee657416c")
    assert f.timestamp_ms == ms(2022, 10, 19, 14, 56, 51, 634)
    assert f.session is not None
    assert f.session.id == "AQoQILE98gtqShGmLD7AM6yJThAB"
    assert (f.session.status, f.session.keepalive_timeout_s, f.session.reconnect_url) == (
        "connected",
        10,
        None,
    )
    assert f.session.connected_at == "2022-10-19T14:56:51.616329898Z"
    assert (f.subscription_type, f.subscription, f.event) == ("", None, None)


def test_reconnect_keepalive_revocation() -> None:
    r = parse_frame(frame_text(WEBSOCKET / "ws-session_reconnect-1.json"))
    assert r.message_type == "session_reconnect" and r.session is not None
    assert r.session.reconnect_url == "wss://eventsub.wss.twitch.tv?..."
    assert (r.session.status, r.session.keepalive_timeout_s) == ("reconnecting", None)
    assert r.timestamp_ms == ms(2019, 11, 18, 9, 10, 11, 234)

    k = parse_frame(frame_text(WEBSOCKET / "ws-session_keepalive-1.json"))
    assert (k.message_type, k.session, k.event) == ("session_keepalive", None, None)
    assert k.timestamp_ms == ms(2022, 11, 4, 13, 11, 49, 770)

    v = parse_frame(frame_text(WEBSOCKET / "ws-revocation-channel.follow-1.json"))
    assert (v.message_type, v.subscription_type, v.subscription_version) == (
        "revocation",
        "channel.follow",
        "1",
    )
    assert v.subscription is not None and v.subscription["status"] == "authorization_revoked"
    assert v.event is None


def test_notification() -> None:
    f = parse_frame(frame_text(WS_MESSAGES / "channel.chat.message.json"))
    assert (f.message_type, f.subscription_type, f.subscription_version) == (
        "notification",
        "channel.chat.message",
        "1",
    )
    assert f.message_id == "7d9daa03-06f0-43ef-94d8-b22e8662bb99"
    assert f.timestamp_ms == ms(2024, 5, 14, 12, 31, 47, 995)
    assert f.event is not None and f.event["message_id"] == "cc106a89-1814-919d-454c-f4f2f970aae7"


def test_every_recorded_frame_parses() -> None:
    texts = [frame_text(p) for p in sorted(WS_MESSAGES.glob("*.json")) + sorted(WEBSOCKET.glob("*.json"))]
    texts += benchmark_frames()
    types = [parse_frame(t).message_type for t in texts]
    assert len(texts) == 23 + 6 + 24
    assert types.count("session_welcome") == 3
    assert types.count("notification") == 22 + 2 + 23


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-14T12:31:47.995298776Z", ms(2024, 5, 14, 12, 31, 47, 995)),
        ("2024-05-14T12:31:47Z", ms(2024, 5, 14, 12, 31, 47, 0)),
        ("2024-05-14T12:31:47.9Z", ms(2024, 5, 14, 12, 31, 47, 900)),
        ("2024-05-14T14:31:47.123+02:00", ms(2024, 5, 14, 12, 31, 47, 123)),
    ],
)
def test_timestamp(value: str, expected: int) -> None:
    assert timestamp_ms(value) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "frame is not a JSON object"),
        ('{"metadata": {}, "payload": {}}', "metadata.message_type is missing or not a string"),
        (
            '{"metadata": {"message_type": "hello", "message_id": "x"}, "payload": {}}',
            "unknown message_type 'hello'",
        ),
        (
            '{"metadata": {"message_type": "notification", "message_id": "x", '
            '"message_timestamp": "2024-05-14T12:31:47Z"}, "payload": {"subscription": {"type": "a"}}}',
            "payload.event is not an object",
        ),
        (
            '{"metadata": {"message_type": "session_keepalive", "message_id": "x", '
            '"message_timestamp": "yesterday"}, "payload": {}}',
            "bad timestamp 'yesterday'",
        ),
    ],
)
def test_bad_frames(text: str, reason: str) -> None:
    with pytest.raises(EventSubParseError) as e:
        parse_frame(text)
    assert e.value.reason.startswith(reason)


def test_subscription_type_must_agree() -> None:
    data = json.loads(frame_text(WS_MESSAGES / "stream.online.json"))
    data["metadata"]["subscription_type"] = "stream.offline"
    with pytest.raises(EventSubParseError, match="differs"):
        parse_frame(json.dumps(data))
