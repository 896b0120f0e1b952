"""USERSTATE (our own state in a channel) and GLOBALUSERSTATE (our state after login)."""

from __future__ import annotations

from dataclasses import dataclass

from streamscope.twitch.irc.fields import channel_of, flag, int_or_none, parse_badges
from streamscope.twitch.irc.message import IrcMessage


@dataclass(slots=True)
class Userstate:
    """Sent after JOIN and after each message we send. It carries no user id."""

    channel: str
    display_name: str
    color: str
    mod: bool
    emote_sets: list[str]
    msg: IrcMessage

    @classmethod
    def from_message(cls, msg: IrcMessage) -> Userstate:
        tags = msg.tags
        sets = tags.get("emote-sets", "")
        return cls(
            channel_of(msg.params[0]) if msg.params else "",
            tags.get("display-name", ""),
            tags.get("color", ""),
            flag(tags.get("mod")) is True,
            sets.split(",") if sets else [],
            msg,
        )

    @property
    def badges(self) -> list[tuple[str, str]]:
        return parse_badges(self.msg.tags.get("badges"))


@dataclass(slots=True)
class GlobalUserstate:
    """Sent once after a successful login; ``channel`` is always empty."""

    user_id: int | None
    display_name: str
    color: str
    emote_sets: list[str]
    msg: IrcMessage
    channel: str = ""

    @classmethod
    def from_message(cls, msg: IrcMessage) -> GlobalUserstate:
        tags = msg.tags
        sets = tags.get("emote-sets", "")
        return cls(
            int_or_none(tags.get("user-id")),
            tags.get("display-name", ""),
            tags.get("color", ""),
            sets.split(",") if sets else [],
            msg,
        )

    @property
    def badges(self) -> list[tuple[str, str]]:
        return parse_badges(self.msg.tags.get("badges"))
