"""JOIN, PART and the NAMES replies (353 list of chatters, 366 end of list)."""

from __future__ import annotations

from dataclasses import dataclass

from streamscope.twitch.irc.fields import channel_of
from streamscope.twitch.irc.message import DecodeError, IrcMessage


@dataclass(slots=True)
class Join:
    channel: str
    login: str
    msg: IrcMessage

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Join:
        if not msg.params:
            raise DecodeError("JOIN needs a channel")
        return cls(channel_of(msg.params[0]), msg.nick or "", msg)


@dataclass(slots=True)
class Part:
    channel: str
    login: str
    msg: IrcMessage

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Part:
        if not msg.params:
            raise DecodeError("PART needs a channel")
        return cls(channel_of(msg.params[0]), msg.nick or "", msg)


@dataclass(slots=True)
class Names:
    """353 ``<me> = #chan :login login ...`` (Twitch only sends it with the membership cap)."""

    channel: str
    logins: list[str]
    msg: IrcMessage

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Names:
        if len(msg.params) < 4:
            raise DecodeError("353 needs <me> <type> <channel> :<names>")
        return cls(channel_of(msg.params[2]), msg.params[3].split(), msg)


@dataclass(slots=True)
class EndOfNames:
    """366 ``<me> #chan :End of /NAMES list``."""

    channel: str
    msg: IrcMessage

    @classmethod
    def from_message(cls, msg: IrcMessage) -> EndOfNames:
        if len(msg.params) < 2:
            raise DecodeError("366 needs <me> <channel>")
        return cls(channel_of(msg.params[1]), msg)
