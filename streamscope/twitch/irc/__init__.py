"""Twitch chat over IRC: parse lines, decode typed events, map them to warehouse rows.

* :func:`parse` / :class:`IrcMessage` (``message.py``, ``tags.py``): the IRCv3 line, byte-exact.
* :func:`decode` (``events.py``): one typed event per command, one module per command family.
* :func:`~streamscope.twitch.irc.rows.classify` (``rows.py``): rows for chat_messages/chat_events.
"""

from __future__ import annotations

from streamscope.twitch.irc.events import KNOWN_COMMANDS, TwitchEvent, decode
from streamscope.twitch.irc.message import DecodeError, IrcMessage, IrcParseError, UnknownCommand, parse

__all__ = [
    "KNOWN_COMMANDS",
    "DecodeError",
    "IrcMessage",
    "IrcParseError",
    "TwitchEvent",
    "UnknownCommand",
    "decode",
    "parse",
]
