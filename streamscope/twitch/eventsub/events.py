"""Typed EventSub events (the ``payload.event`` of a notification frame), one class per type.

Covered: ``stream.online``, ``stream.offline``, ``channel.update`` (v1 and v2),
``channel.chat.message``, ``channel.chat.notification`` (every ``notice_type``; the per-type object
is kept as sent in :attr:`ChatNotification.detail`), ``channel.chat.message_delete``,
``channel.chat.clear_user_messages``, ``channel.chat.clear`` and ``channel.ban``. Field names follow
Twitch's EventSub reference; user ids are ints (``None`` for anonymous users), logins lowercase.

:func:`decode` raises :class:`~streamscope.twitch.eventsub.frames.EventSubParseError` when a
required field is missing or has the wrong JSON type, and for a type not listed above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamscope.twitch.eventsub.frames import EventSubParseError, Frame, timestamp_ms

__all__ = [
    "Badge",
    "Ban",
    "ChannelUpdate",
    "ChatClear",
    "ChatEvent",
    "ChatMessage",
    "ChatNotification",
    "ClearUserMessages",
    "EventSubEvent",
    "Fragment",
    "MessageDelete",
    "Reply",
    "StreamOffline",
    "StreamOnline",
    "User",
    "decode",
]


@dataclass(frozen=True, slots=True)
class User:
    """A Twitch user as EventSub names it (``<prefix>_user_id``/``_user_login``/``_user_name``)."""

    id: int | None
    login: str
    name: str


@dataclass(frozen=True, slots=True)
class Badge:
    set_id: str
    id: str
    info: str


@dataclass(frozen=True, slots=True)
class Fragment:
    """A piece of message text: ``type`` is text, emote, cheermote or mention."""

    type: str
    text: str
    emote_id: str | None = None
    bits: int = 0


@dataclass(frozen=True, slots=True)
class Reply:
    parent_message_id: str
    parent_message_body: str
    parent_user: User
    thread_message_id: str
    thread_user: User


@dataclass(frozen=True, slots=True)
class StreamOnline:
    broadcaster: User
    stream_id: str
    type: str
    started_at_ms: int


@dataclass(frozen=True, slots=True)
class StreamOffline:
    broadcaster: User


@dataclass(frozen=True, slots=True)
class ChannelUpdate:
    broadcaster: User
    title: str
    language: str
    category_id: str
    category_name: str


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """``channel.chat.message``. ``message_id`` is the IRC ``id`` tag of the same message."""

    broadcaster: User
    chatter: User
    message_id: str
    text: str
    fragments: tuple[Fragment, ...]
    message_type: str
    color: str
    badges: tuple[Badge, ...]
    bits: int
    reply: Reply | None
    reward_id: str | None
    source_broadcaster: User | None
    source_message_id: str | None


@dataclass(frozen=True, slots=True)
class ChatNotification:
    """``channel.chat.notification``: ``detail`` is the object named by ``notice_type`` (or ``{}``)."""

    broadcaster: User
    chatter: User
    anonymous: bool
    message_id: str
    notice_type: str
    system_message: str
    text: str
    fragments: tuple[Fragment, ...]
    color: str
    badges: tuple[Badge, ...]
    detail: dict[str, Any]
    source_broadcaster: User | None
    source_message_id: str | None


@dataclass(frozen=True, slots=True)
class MessageDelete:
    broadcaster: User
    target: User
    message_id: str


@dataclass(frozen=True, slots=True)
class ClearUserMessages:
    broadcaster: User
    target: User


@dataclass(frozen=True, slots=True)
class ChatClear:
    broadcaster: User


@dataclass(frozen=True, slots=True)
class Ban:
    """``channel.ban``: a timeout when ``ends_at_ms`` is set, else a permanent ban."""

    broadcaster: User
    user: User
    moderator: User
    reason: str
    banned_at_ms: int
    ends_at_ms: int | None


ChatEvent = ChatMessage | ChatNotification | MessageDelete | ClearUserMessages | ChatClear | Ban
EventSubEvent = StreamOnline | StreamOffline | ChannelUpdate | ChatEvent


def _str(ev: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = ev.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise EventSubParseError(f"event.{key} is missing or not a string")
    return value


def _id(value: Any, key: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) < 2**64:
        return int(value)
    raise EventSubParseError(f"event.{key} is not a numeric user id")


def _user(ev: dict[str, Any], prefix: str, *, required: bool = True) -> User:
    """``<prefix>_id``, ``<prefix>_login``, ``<prefix>_name`` (prefix e.g. ``broadcaster_user``)."""
    uid = _id(ev.get(prefix + "_id"), prefix + "_id")
    if uid is None and required:
        raise EventSubParseError(f"event.{prefix}_id is missing")
    return User(uid, str(ev.get(prefix + "_login") or "").lower(), str(ev.get(prefix + "_name") or ""))


def _badges(value: Any) -> tuple[Badge, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise EventSubParseError("event.badges is not a list")
    out = []
    for b in value:
        if not isinstance(b, dict) or not isinstance(b.get("set_id"), str):
            raise EventSubParseError("event.badges has an item without set_id")
        out.append(Badge(b["set_id"], str(b.get("id") or ""), str(b.get("info") or "")))
    return tuple(out)


def _message(ev: dict[str, Any], *, required: bool = True) -> tuple[str, tuple[Fragment, ...]]:
    msg = ev.get("message")
    if msg is None and not required:
        return "", ()
    if not isinstance(msg, dict) or not isinstance(msg.get("text"), str):
        raise EventSubParseError("event.message.text is missing")
    frags = []
    for f in msg.get("fragments") or ():
        if not isinstance(f, dict) or not isinstance(f.get("text"), str):
            raise EventSubParseError("event.message.fragments has an item without text")
        emote = f.get("emote") if isinstance(f.get("emote"), dict) else None
        cheer = f.get("cheermote") if isinstance(f.get("cheermote"), dict) else None
        bits = cheer.get("bits") if cheer else 0
        frags.append(
            Fragment(
                str(f.get("type") or ""),
                f["text"],
                str(emote["id"]) if emote and emote.get("id") is not None else None,
                bits if isinstance(bits, int) else 0,
            )
        )
    return msg["text"], tuple(frags)


def _source(ev: dict[str, Any]) -> tuple[User | None, str | None]:
    if ev.get("source_broadcaster_user_id") is None:
        return None, None
    return _user(ev, "source_broadcaster_user"), ev.get("source_message_id") or None


def _reply(value: Any) -> Reply | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise EventSubParseError("event.reply is not an object")
    return Reply(
        str(value.get("parent_message_id") or ""),
        str(value.get("parent_message_body") or ""),
        _user(value, "parent_user", required=False),
        str(value.get("thread_message_id") or ""),
        _user(value, "thread_user", required=False),
    )


def _chat_message(ev: dict[str, Any]) -> ChatMessage:
    text, fragments = _message(ev)
    cheer = ev.get("cheer")
    bits = cheer.get("bits") if isinstance(cheer, dict) else 0
    source, source_id = _source(ev)
    return ChatMessage(
        broadcaster=_user(ev, "broadcaster_user"),
        chatter=_user(ev, "chatter_user"),
        message_id=_str(ev, "message_id"),
        text=text,
        fragments=fragments,
        message_type=_str(ev, "message_type", required=False) or "text",
        color=_str(ev, "color", required=False),
        badges=_badges(ev.get("badges")),
        bits=bits if isinstance(bits, int) and bits > 0 else 0,
        reply=_reply(ev.get("reply")),
        reward_id=ev.get("channel_points_custom_reward_id") or None,
        source_broadcaster=source,
        source_message_id=source_id,
    )


def _notification(ev: dict[str, Any]) -> ChatNotification:
    notice_type = _str(ev, "notice_type")
    anonymous = bool(ev.get("chatter_is_anonymous"))
    text, fragments = _message(ev, required=False)
    detail = ev.get(notice_type)
    source, source_id = _source(ev)
    return ChatNotification(
        broadcaster=_user(ev, "broadcaster_user"),
        chatter=_user(ev, "chatter_user", required=not anonymous),
        anonymous=anonymous,
        message_id=_str(ev, "message_id"),
        notice_type=notice_type,
        system_message=_str(ev, "system_message", required=False),
        text=text,
        fragments=fragments,
        color=_str(ev, "color", required=False),
        badges=_badges(ev.get("badges")),
        detail=detail if isinstance(detail, dict) else {},
        source_broadcaster=source,
        source_message_id=source_id,
    )


def _ban(ev: dict[str, Any]) -> Ban:
    permanent = ev.get("is_permanent")
    ends = ev.get("ends_at")
    return Ban(
        broadcaster=_user(ev, "broadcaster_user"),
        user=_user(ev, "user"),
        moderator=_user(ev, "moderator_user", required=False),
        reason=_str(ev, "reason", required=False),
        banned_at_ms=timestamp_ms(ev.get("banned_at")),
        ends_at_ms=None if permanent or ends is None else timestamp_ms(ends),
    )


def decode(frame: Frame) -> EventSubEvent:
    """The typed event of a notification frame (see the module docstring for the types)."""
    ev = frame.event
    if ev is None:
        raise EventSubParseError(f"{frame.message_type} frame has no event")
    kind = frame.subscription_type
    if kind == "channel.chat.message":
        return _chat_message(ev)
    if kind == "channel.chat.notification":
        return _notification(ev)
    if kind == "channel.chat.message_delete":
        return MessageDelete(_user(ev, "broadcaster_user"), _user(ev, "target_user"), _str(ev, "message_id"))
    if kind == "channel.chat.clear_user_messages":
        return ClearUserMessages(_user(ev, "broadcaster_user"), _user(ev, "target_user"))
    if kind == "channel.chat.clear":
        return ChatClear(_user(ev, "broadcaster_user"))
    if kind == "channel.ban":
        return _ban(ev)
    if kind == "stream.online":
        return StreamOnline(
            _user(ev, "broadcaster_user"),
            _str(ev, "id"),
            _str(ev, "type"),
            timestamp_ms(ev.get("started_at")),
        )
    if kind == "stream.offline":
        return StreamOffline(_user(ev, "broadcaster_user"))
    if kind == "channel.update":
        return ChannelUpdate(
            _user(ev, "broadcaster_user"),
            _str(ev, "title", required=False),
            _str(ev, "language", required=False),
            _str(ev, "category_id", required=False),
            _str(ev, "category_name", required=False),
        )
    raise EventSubParseError(f"unsupported subscription type {kind[:60]!r}")
