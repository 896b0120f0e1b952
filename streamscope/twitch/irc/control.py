"""Connection-control lines: PING/PONG, RECONNECT, CAP, welcome numerics, and HOSTTARGET.

Except HOSTTARGET (a channel event, obsolete since 2022 but still in old logs) none of these say
anything about a channel; the warehouse counts them instead of storing them
(:data:`~streamscope.twitch.irc.rows.CONTROL_COMMANDS`).
"""

from __future__ import annotations

from dataclasses import dataclass

from streamscope.twitch.irc.fields import channel_of, int_or_none
from streamscope.twitch.irc.message import IrcMessage

WELCOME_NUMERICS = frozenset({"001", "002", "003", "004", "372", "375", "376"})


@dataclass(slots=True)
class Ping:
    """Must be answered with ``PONG`` carrying the same ``argument``."""

    argument: str
    msg: IrcMessage
    channel: str = ""

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Ping:
        return cls(msg.params[-1] if msg.params else "", msg)

    def pong(self) -> str:
        """The reply line to send back."""
        return f"PONG :{self.argument}" if self.argument else "PONG"


@dataclass(slots=True)
class Pong:
    argument: str
    msg: IrcMessage
    channel: str = ""

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Pong:
        return cls(msg.params[-1] if msg.params else "", msg)


@dataclass(slots=True)
class Reconnect:
    """The server is going away: reconnect now (and rejoin)."""

    msg: IrcMessage
    channel: str = ""

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Reconnect:
        return cls(msg)


@dataclass(slots=True)
class Cap:
    """``CAP * ACK|NAK|LS :caps``; ``subcommand`` is empty for a bare ``CAP``."""

    subcommand: str
    capabilities: list[str]
    msg: IrcMessage
    channel: str = ""

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Cap:
        p = msg.params
        return cls(p[1] if len(p) > 1 else "", p[2].split() if len(p) > 2 else [], msg)


@dataclass(slots=True)
class Numeric:
    """Welcome replies 001-004 and the MOTD 372/375/376 (``code`` is the 3-digit command)."""

    code: str
    target: str
    text: str
    msg: IrcMessage
    channel: str = ""

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Numeric:
        p = msg.params
        return cls(msg.command, p[0] if p else "", p[-1] if len(p) > 1 else "", msg)


@dataclass(slots=True)
class Hosttarget:
    """``HOSTTARGET #chan :target viewers``; ``target`` None = host mode ended (``-``)."""

    channel: str
    target: str | None
    viewers: int | None
    msg: IrcMessage

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Hosttarget:
        p = msg.params
        words = p[1].split(" ") if len(p) > 1 else []
        target = words[0] if words and words[0] not in ("", "-") else None
        viewers = int_or_none(words[1]) if len(words) > 1 else None
        return cls(channel_of(p[0]) if p else "", target, viewers, msg)
