"""Turn an :class:`IrcMessage` into the typed event for its command: :func:`decode`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

from streamscope.twitch.irc.clearchat import Clearchat
from streamscope.twitch.irc.clearmsg import Clearmsg
from streamscope.twitch.irc.control import (
    WELCOME_NUMERICS,
    Cap,
    Hosttarget,
    Numeric,
    Ping,
    Pong,
    Reconnect,
)
from streamscope.twitch.irc.membership import EndOfNames, Join, Names, Part
from streamscope.twitch.irc.message import IrcMessage, UnknownCommand
from streamscope.twitch.irc.notice import Notice
from streamscope.twitch.irc.privmsg import Privmsg
from streamscope.twitch.irc.roomstate import Roomstate
from streamscope.twitch.irc.usernotice import Usernotice
from streamscope.twitch.irc.userstate import GlobalUserstate, Userstate
from streamscope.twitch.irc.whisper import Whisper

TwitchEvent: TypeAlias = (
    Privmsg | Usernotice | Clearchat | Clearmsg | Roomstate | Notice | Userstate | GlobalUserstate
    | Whisper | Join | Part | Names | EndOfNames | Ping | Pong | Reconnect | Cap | Numeric | Hosttarget
)  # fmt: skip

_DECODERS: dict[str, Callable[[IrcMessage], TwitchEvent]] = {
    "PRIVMSG": Privmsg.from_message,
    "USERNOTICE": Usernotice.from_message,
    "CLEARCHAT": Clearchat.from_message,
    "CLEARMSG": Clearmsg.from_message,
    "ROOMSTATE": Roomstate.from_message,
    "NOTICE": Notice.from_message,
    "USERSTATE": Userstate.from_message,
    "GLOBALUSERSTATE": GlobalUserstate.from_message,
    "WHISPER": Whisper.from_message,
    "JOIN": Join.from_message,
    "PART": Part.from_message,
    "353": Names.from_message,
    "366": EndOfNames.from_message,
    "PING": Ping.from_message,
    "PONG": Pong.from_message,
    "RECONNECT": Reconnect.from_message,
    "CAP": Cap.from_message,
    "HOSTTARGET": Hosttarget.from_message,
    **{code: Numeric.from_message for code in WELCOME_NUMERICS},
}

KNOWN_COMMANDS = frozenset(_DECODERS)


def decode(msg: IrcMessage) -> TwitchEvent:
    """Return the typed event for ``msg``.

    Raises :class:`UnknownCommand` for a command Twitch chat does not send (or we do not model),
    and :class:`DecodeError` when a known command lacks the params it needs. Both subclass
    :class:`IrcParseError`, so one ``except`` covers "this line cannot be used".
    """
    decoder = _DECODERS.get(msg.command)
    if decoder is None:
        raise UnknownCommand(msg.command)
    return decoder(msg)
