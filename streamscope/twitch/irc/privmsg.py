"""PRIVMSG: a chat message, including ``/me`` actions, cheers, replies and shared chat."""

from __future__ import annotations

from dataclasses import dataclass

from streamscope.twitch.irc.fields import (
    channel_of,
    emote_positions,
    flag,
    int_or_none,
    parse_badges,
    split_action,
)
from streamscope.twitch.irc.message import DecodeError, IrcMessage


@dataclass(slots=True, frozen=True)
class ReplyParent:
    """The message replied to (``reply-parent-*``) or the thread root (``reply-thread-parent-*``)."""

    message_id: str
    user_id: int | None
    login: str
    display_name: str
    text: str  # only for reply-parent (Twitch sends no body for the thread root)


@dataclass(slots=True, frozen=True)
class SharedChatSource:
    """Where a shared-chat message was originally sent (``source-*`` tags)."""

    room_id: int | None
    message_id: str
    badges: list[tuple[str, str]]
    badge_info: list[tuple[str, str]]
    only: bool | None  # source-only: shown only in the source channel


@dataclass(slots=True)
class Privmsg:
    """A chat message. ``text`` is without the ``/me`` wrapper (``is_action`` says it had one).

    Scalar fields are decoded eagerly; badges/emotes/replies are properties decoded on access, so
    the hot path does not pay for what it does not read.
    """

    channel: str
    login: str
    text: str
    is_action: bool
    message_id: str | None
    user_id: int | None
    display_name: str
    room_id: int | None
    sent_ts: int | None
    bits: int
    msg: IrcMessage

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Privmsg:
        if len(msg.params) < 2:
            raise DecodeError("PRIVMSG needs a channel and a text")
        tags = msg.tags
        text, is_action = split_action(msg.params[-1])
        return cls(
            channel_of(msg.params[0]),
            msg.prefix.partition("!")[0] if msg.prefix else "",
            text,
            is_action,
            tags.get("id"),
            int_or_none(tags.get("user-id")),
            tags.get("display-name", ""),
            int_or_none(tags.get("room-id")),
            int_or_none(tags.get("tmi-sent-ts")),
            int_or_none(tags.get("bits")) or 0,
            msg,
        )

    @property
    def color(self) -> str:
        return self.msg.tags.get("color", "")

    @property
    def badges(self) -> list[tuple[str, str]]:
        return parse_badges(self.msg.tags.get("badges"))

    @property
    def badge_info(self) -> list[tuple[str, str]]:
        return parse_badges(self.msg.tags.get("badge-info"))

    @property
    def emotes(self) -> list[tuple[str, int, int]]:
        """``[(emote_id, start, end)]``, inclusive code point offsets into :attr:`text`."""
        return emote_positions(self.msg.tags.get("emotes"))

    @property
    def first_msg(self) -> bool:
        return flag(self.msg.tags.get("first-msg")) is True

    @property
    def returning_chatter(self) -> bool:
        return flag(self.msg.tags.get("returning-chatter")) is True

    @property
    def reply_parent(self) -> ReplyParent | None:
        return _reply(self.msg.tags, "reply-parent-")

    @property
    def reply_thread_parent(self) -> ReplyParent | None:
        return _reply(self.msg.tags, "reply-thread-parent-")

    @property
    def source(self) -> SharedChatSource | None:
        """Set when the message came through shared chat from another channel."""
        tags = self.msg.tags
        if "source-room-id" not in tags and "source-id" not in tags:
            return None
        return SharedChatSource(
            int_or_none(tags.get("source-room-id")),
            tags.get("source-id", ""),
            parse_badges(tags.get("source-badges")),
            parse_badges(tags.get("source-badge-info")),
            flag(tags.get("source-only")),
        )


def _reply(tags: dict[str, str], p: str) -> ReplyParent | None:
    mid = tags.get(p + "msg-id")
    if mid is None:
        return None
    return ReplyParent(
        mid,
        int_or_none(tags.get(p + "user-id")),
        tags.get(p + "user-login", ""),
        tags.get(p + "display-name", ""),
        tags.get(p + "msg-body", ""),
    )
