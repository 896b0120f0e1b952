"""The tests' own reading of raw Twitch IRC lines: plain string splitting, independent of the parser
under test (``streamscope.twitch.irc``), so a parser bug cannot make both sides of an assertion agree.
Shared by the tests and fixtures that need to know what a recorded line says.
"""

from __future__ import annotations

_UNESCAPE = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


def unescape(value: str) -> str:
    """An IRCv3 tag value unescaped (``\\s`` → space, ``\\:`` → ``;``, ...; a lone ``\\`` is dropped)."""
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            if i + 1 < len(value):
                out.append(_UNESCAPE.get(value[i + 1], value[i + 1]))
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def split_line(line: str, *, unescape_tags: bool = True) -> tuple[dict[str, str], str, str, list[str]]:
    """``(tags, nick, command, params)`` of a raw line; the trailing parameter is the last param."""
    tags: dict[str, str] = {}
    rest = line
    if rest.startswith("@"):
        head, rest = rest[1:].split(" ", 1)
        for item in head.split(";"):
            key, _, value = item.partition("=")
            tags[key] = unescape(value) if unescape_tags else value
    nick = ""
    if rest.startswith(":"):
        prefix, rest = rest[1:].split(" ", 1)
        nick = prefix.split("!")[0]
    trailing = None
    if " :" in rest:
        rest, trailing = rest.split(" :", 1)
    words = rest.split()
    return tags, nick, words[0], words[1:] + ([trailing] if trailing is not None else [])
