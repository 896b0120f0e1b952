"""WHISPER: a private message to the logged-in user (never to anonymous connections)."""

from __future__ import annotations

from dataclasses import dataclass

from streamscope.twitch.irc.fields import emote_positions, int_or_none
from streamscope.twitch.irc.message import DecodeError, IrcMessage


@dataclass(slots=True)
class Whisper:
    """``message_id`` is Twitch's per-thread counter (``message-id``), not a UUID."""

    from_login: str
    to_login: str
    text: str
    user_id: int | None
    display_name: str
    message_id: str
    thread_id: str
    msg: IrcMessage
    channel: str = ""

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Whisper:
        if len(msg.params) < 2:
            raise DecodeError("WHISPER needs a recipient and a text")
        tags = msg.tags
        return cls(
            msg.nick or "",
            msg.params[0],
            msg.params[1],
            int_or_none(tags.get("user-id")),
            tags.get("display-name", ""),
            tags.get("message-id", ""),
            tags.get("thread-id", ""),
            msg,
        )

    @property
    def emotes(self) -> list[tuple[str, int, int]]:
        return emote_positions(self.msg.tags.get("emotes"))
