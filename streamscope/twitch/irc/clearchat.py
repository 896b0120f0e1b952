"""CLEARCHAT: a timeout (with ``ban-duration``), a permanent ban, or the whole chat cleared."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from streamscope.twitch.irc.fields import channel_of, int_or_none
from streamscope.twitch.irc.message import IrcMessage

ClearchatKind = Literal["timeout", "ban", "clear"]


@dataclass(slots=True)
class Clearchat:
    """``kind`` is ``timeout`` (target + ``duration_s``), ``ban`` (target, no duration) or ``clear``
    (no target: /clear by a moderator)."""

    channel: str
    kind: ClearchatKind
    target_login: str
    target_user_id: int | None
    duration_s: int | None
    room_id: int | None
    sent_ts: int | None
    msg: IrcMessage

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Clearchat:
        tags = msg.tags
        p = msg.params
        target = p[1] if len(p) > 1 else ""
        duration = int_or_none(tags.get("ban-duration"))
        kind: ClearchatKind = "clear" if not target else ("timeout" if duration is not None else "ban")
        return cls(
            channel_of(p[0]) if p else "",
            kind,
            target,
            int_or_none(tags.get("target-user-id")),
            duration,
            int_or_none(tags.get("room-id")),
            int_or_none(tags.get("tmi-sent-ts")),
            msg,
        )
