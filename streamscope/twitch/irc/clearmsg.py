"""CLEARMSG: one message deleted by a moderator."""

from __future__ import annotations

from dataclasses import dataclass

from streamscope.twitch.irc.fields import channel_of, int_or_none, split_action
from streamscope.twitch.irc.message import IrcMessage


@dataclass(slots=True)
class Clearmsg:
    """``login`` wrote the deleted message ``target_msg_id`` whose text was ``text`` (``/me``
    wrapper removed, ``is_action`` set). ``room_id`` is often empty on the wire (``room-id=``)."""

    channel: str
    login: str
    target_msg_id: str
    text: str
    is_action: bool
    room_id: int | None
    sent_ts: int | None
    msg: IrcMessage

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Clearmsg:
        tags = msg.tags
        p = msg.params
        text, is_action = split_action(p[1] if len(p) > 1 else "")
        return cls(
            channel_of(p[0]) if p else "",
            tags.get("login", ""),
            tags.get("target-msg-id", ""),
            text,
            is_action,
            int_or_none(tags.get("room-id")),
            int_or_none(tags.get("tmi-sent-ts")),
            msg,
        )
