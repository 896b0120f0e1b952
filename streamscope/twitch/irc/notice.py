"""NOTICE: server messages to a channel (``#chan``) or the connection (``*``)."""

from __future__ import annotations

from dataclasses import dataclass

from streamscope.twitch.irc.fields import channel_of
from streamscope.twitch.irc.message import IrcMessage


@dataclass(slots=True)
class Notice:
    """``msg_id`` is the ``msg-id`` tag (empty before login, e.g. 'Login authentication failed');
    ``channel`` is empty for connection-level notices (target ``*``)."""

    channel: str
    msg_id: str
    text: str
    msg: IrcMessage

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Notice:
        p = msg.params
        text = p[-1] if len(p) > 1 else ""
        return cls(channel_of(p[0]) if p else "", msg.tags.get("msg-id", ""), text, msg)
