"""IRCv3 message-tag value escaping (https://ircv3.net/specs/extensions/message-tags).

On the wire a tag value cannot hold ``;``, space, CR, LF or a bare backslash, so they travel as
``\\:``, ``\\s``, ``\\r``, ``\\n`` and ``\\\\``. Unescaping follows the spec exactly: a backslash
before any other character is dropped (``\\a`` -> ``a``) and a lone trailing backslash is dropped.
Those two cases mean unescaping is not injective, which is why :class:`IrcMessage` keeps the raw
tag section for byte-exact serialization.
"""

from __future__ import annotations

_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


def unescape_tag_value(raw: str) -> str:
    """Return the tag value ``raw`` (as sent on the wire) with IRCv3 escapes resolved."""
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i = 0
    n = len(raw)
    while True:
        j = raw.find("\\", i)
        if j < 0:
            out.append(raw[i:])
            break
        out.append(raw[i:j])
        if j + 1 >= n:  # lone trailing backslash: the spec says drop it
            break
        c = raw[j + 1]
        out.append(_UNESCAPES.get(c, c))
        i = j + 2
    return "".join(out)


def escape_tag_value(value: str) -> str:
    """Return ``value`` escaped for the wire; ``unescape_tag_value(escape_tag_value(v)) == v``."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if ";" in value:
        value = value.replace(";", "\\:")
    if " " in value:
        value = value.replace(" ", "\\s")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    if "\n" in value:
        value = value.replace("\n", "\\n")
    return value


def value_round_trips(raw: str) -> bool:
    """True when ``escape_tag_value(unescape_tag_value(raw)) == raw`` (canonical escaping)."""
    return "\\" not in raw or escape_tag_value(unescape_tag_value(raw)) == raw


def parse_tags(raw: str) -> dict[str, str]:
    """Parse a tag section (without the leading ``@``) into ``{key: unescaped value}``.

    Keys keep wire order; a key without ``=`` maps to ``''``; for a repeated key the last value wins
    (as the spec says clients must do).
    """
    try:
        # Fast path (C loops): fails only when some item has no '='.
        tags = dict([item.split("=", 1) for item in raw.split(";")])
    except ValueError:
        tags = {k: v for k, _, v in (item.partition("=") for item in raw.split(";"))}
    if "\\" in raw:
        for k, v in tags.items():
            if "\\" in v:
                tags[k] = unescape_tag_value(v)
    return tags


def raw_tag_items(raw: str) -> list[tuple[str, str]]:
    """Split a tag section into ``(key, raw escaped value)`` pairs in wire order, repeats kept."""
    return [(k, v) for k, _, v in (item.partition("=") for item in raw.split(";"))]
