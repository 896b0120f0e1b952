"""ROOMSTATE: chat modes of a channel. On JOIN all modes are sent; later only the changed one."""

from __future__ import annotations

from dataclasses import dataclass

from streamscope.twitch.irc.fields import channel_of, flag, int_or_none
from streamscope.twitch.irc.message import IrcMessage


@dataclass(slots=True)
class Roomstate:
    """Each mode is ``None`` when this line does not mention it.

    ``followers_only`` is minutes (``-1`` = off, ``0`` = any follower); ``slow`` is seconds.
    """

    channel: str
    room_id: int | None
    emote_only: bool | None
    followers_only: int | None
    r9k: bool | None
    slow: int | None
    subs_only: bool | None
    msg: IrcMessage

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Roomstate:
        tags = msg.tags
        return cls(
            channel_of(msg.params[0]) if msg.params else "",
            int_or_none(tags.get("room-id")),
            flag(tags.get("emote-only")),
            int_or_none(tags.get("followers-only")),
            flag(tags.get("r9k")),
            int_or_none(tags.get("slow")),
            flag(tags.get("subs-only")),
            msg,
        )
