"""Framing and routing of raw Twitch IRC lines, without parsing them.

Sources only capture, so this module knows exactly two things about a line: where it ends and
which channel it belongs to (the bus key). Everything else is the pipelines' business.
"""

from __future__ import annotations

import re

from streamscope.twitch.logins import normalize_login

#: A Twitch login: what a channel name is once ``#`` is removed. Checked before a channel name is
#: ever written into an IRC command, so that no name can smuggle a space or CRLF into the socket.
LOGIN_RE = re.compile(r"[a-z0-9_]{1,25}")


def normalize_channel(channel: str) -> str:
    """``'#XQCow'`` → ``'xqcow'``; raises :class:`ValueError` for anything that is not a login."""
    login = normalize_login(channel)
    if not LOGIN_RE.fullmatch(login):
        raise ValueError(f"not a Twitch channel login: {channel!r}")
    return login


def split_frame(frame: str) -> list[str]:
    """The lines of one WebSocket text frame, without their CRLF, empty lines skipped.

    Twitch ends every line with CRLF and never splits a line across frames. A bare LF is accepted
    as a terminator too and a missing final terminator still ends the line, because a frame is a
    complete unit on Twitch's WebSocket endpoint (there is no stream to carry a tail over to).
    """
    out = []
    for piece in frame.split("\n"):
        if piece.endswith("\r"):
            piece = piece[:-1]
        if piece:
            out.append(piece)
    return out


def channel_of(line: str) -> str:
    """The channel login a raw line is about, from its first ``#`` middle parameter; ``''`` if none.

    Tags (``@...``) and the prefix (``:...``) are skipped and the trailing parameter (after `` :``)
    is never looked at, so ``PRIVMSG #a :see #b`` is about ``a``. Numerics such as
    ``353 nick = #a :names`` carry the channel in a later middle parameter, hence the scan.
    Lower-cased, as bus keys are.
    """
    rest = line
    if rest.startswith("@"):
        cut = rest.find(" ")
        if cut < 0:
            return ""
        rest = rest[cut + 1 :].lstrip(" ")
    if rest.startswith(":"):
        cut = rest.find(" ")
        if cut < 0:
            return ""
        rest = rest[cut + 1 :]
    trailing = rest.find(" :")
    if trailing >= 0:
        rest = rest[:trailing]
    for param in rest.split(" ")[1:]:
        if param.startswith("#") and len(param) > 1:
            return param[1:].lower()
    return ""


def command_of(line: str) -> tuple[str, str, str]:
    """``(prefix, command, params)`` of a raw line; tags are dropped, ``params`` is the raw rest.

    Just enough for the source's own control handling (PING, RECONNECT, 001, its JOIN/PART
    echoes); pipelines do the real parsing.
    """
    rest = line
    if rest.startswith("@"):
        cut = rest.find(" ")
        rest = "" if cut < 0 else rest[cut + 1 :].lstrip(" ")
    prefix = ""
    if rest.startswith(":"):
        cut = rest.find(" ")
        if cut < 0:
            return rest[1:], "", ""
        prefix, rest = rest[1:cut], rest[cut + 1 :]
    command, _, params = rest.partition(" ")
    return prefix, command, params
