"""EventSub WebSocket frames: ``{"metadata": {...}, "payload": {...}}`` as Twitch sends them.

Contract (Twitch's EventSub WebSocket reference): ``metadata.message_type`` is one of
``session_welcome``, ``session_keepalive``, ``notification``, ``session_reconnect``,
``revocation``. Session frames carry ``payload.session`` (``id``, ``status``,
``keepalive_timeout_seconds``, ``reconnect_url``, ``connected_at``); notification and revocation
frames carry ``metadata.subscription_type``/``subscription_version`` and ``payload.subscription``,
and notifications also ``payload.event``. ``metadata.message_id`` is the same on a re-delivery.

:func:`parse_frame` checks exactly that shape and nothing about the event's own fields (see
:mod:`streamscope.twitch.eventsub.events`); anything else raises :class:`EventSubParseError` with a
one-line reason, suitable for a dead letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from streamscope.timeutil import iso_ms

__all__ = [
    "MESSAGE_TYPES",
    "EventSubParseError",
    "Frame",
    "Session",
    "parse_frame",
    "timestamp_ms",
]

MESSAGE_TYPES = frozenset(
    {"session_welcome", "session_keepalive", "notification", "session_reconnect", "revocation"}
)
_SESSION_TYPES = frozenset({"session_welcome", "session_reconnect"})


class EventSubParseError(ValueError):
    """A frame or event that does not have the documented shape; ``reason`` is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Session:
    """``payload.session`` of a welcome or reconnect frame."""

    id: str
    status: str
    keepalive_timeout_s: int | None
    reconnect_url: str | None
    connected_at: str


@dataclass(frozen=True, slots=True)
class Frame:
    """One parsed frame. ``subscription``/``event`` are the JSON objects as sent (``None`` when absent).

    ``timestamp_ms`` is ``metadata.message_timestamp`` truncated to milliseconds.
    ``subscription_type``/``subscription_version`` are empty for session frames.
    """

    message_id: str
    message_type: str
    timestamp_ms: int
    subscription_type: str
    subscription_version: str
    session: Session | None
    subscription: dict[str, Any] | None
    event: dict[str, Any] | None


def timestamp_ms(value: object) -> int:
    """An EventSub time (RFC 3339 with an offset, any number of fraction digits: Twitch sends
    nanoseconds) -> epoch ms, truncated to the millisecond by :func:`streamscope.timeutil.iso_ms`.

    Raises :class:`EventSubParseError` for anything else.
    """
    if not isinstance(value, str):
        raise EventSubParseError(f"bad timestamp {str(value)[:40]!r}")
    try:
        return iso_ms(value)
    except ValueError:
        raise EventSubParseError(f"bad timestamp {value[:40]!r}") from None


def _object(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise EventSubParseError(f"{where}.{key} is not an object")
    return value


def _string(parent: dict[str, Any], key: str, where: str) -> str:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise EventSubParseError(f"{where}.{key} is missing or not a string")
    return value


def _session(payload: dict[str, Any]) -> Session:
    s = _object(payload, "session", "payload")
    keepalive = s.get("keepalive_timeout_seconds")
    reconnect = s.get("reconnect_url")
    return Session(
        id=_string(s, "id", "payload.session"),
        status=str(s.get("status") or ""),
        keepalive_timeout_s=keepalive if isinstance(keepalive, int) else None,
        reconnect_url=reconnect if isinstance(reconnect, str) and reconnect else None,
        connected_at=str(s.get("connected_at") or ""),
    )


def parse_frame(text: str | bytes) -> Frame:
    """Parse one WebSocket text frame; raises :class:`EventSubParseError` when it is not a frame."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise EventSubParseError(f"invalid JSON: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise EventSubParseError("frame is not a JSON object")
    meta = _object(data, "metadata", "frame")
    payload = _object(data, "payload", "frame")
    message_type = _string(meta, "message_type", "metadata")
    if message_type not in MESSAGE_TYPES:
        raise EventSubParseError(f"unknown message_type {message_type[:40]!r}")
    message_id = _string(meta, "message_id", "metadata")
    at = timestamp_ms(meta.get("message_timestamp"))
    session = subscription = event = None
    sub_type = sub_version = ""
    if message_type in _SESSION_TYPES:
        session = _session(payload)
    elif message_type in ("notification", "revocation"):
        subscription = _object(payload, "subscription", "payload")
        sub_type = _string(subscription, "type", "payload.subscription")
        sub_version = str(subscription.get("version") or meta.get("subscription_version") or "")
        if meta.get("subscription_type", sub_type) != sub_type:
            raise EventSubParseError("metadata.subscription_type differs from payload.subscription.type")
        if message_type == "notification":
            event = _object(payload, "event", "payload")
    return Frame(message_id, message_type, at, sub_type, sub_version, session, subscription, event)
