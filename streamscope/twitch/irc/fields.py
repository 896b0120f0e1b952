"""Decoders for Twitch tag values shared by several commands (badges, emotes, ids, /me).

These are also what the HTTP API uses to turn stored columns back into JSON, so they accept the
values exactly as stored (the unescaped tag value).
"""

from __future__ import annotations

ACTION_PREFIX = "\x01ACTION "
ACTION_SUFFIX = "\x01"


def split_action(text: str) -> tuple[str, bool]:
    """Return ``(text, is_action)``: a ``/me`` line (``\\x01ACTION text\\x01``) loses its wrapper."""
    if text.startswith(ACTION_PREFIX) and text.endswith(ACTION_SUFFIX) and len(text) >= 9:
        return text[8:-1], True
    return text, False


def int_or_none(value: str | None) -> int | None:
    """``int(value)`` for a plain decimal (optionally signed) string, else ``None``."""
    if not value or not value.isascii():
        return None
    if value.isdigit():
        return int(value)
    return int(value) if value[0] == "-" and value[1:].isdigit() else None


def flag(value: str | None) -> bool | None:
    """Twitch boolean tags: ``'1'`` -> True, ``'0'`` -> False, absent/empty -> None."""
    if not value:
        return None
    return value != "0"


def parse_badges(value: str | None) -> list[tuple[str, str]]:
    """``'moderator/1,subscriber/12'`` -> ``[('moderator', '1'), ('subscriber', '12')]``.

    Used for ``badges``, ``badge-info`` and ``source-badges``; a badge without ``/`` gets version
    ``''``; empty entries are skipped.
    """
    if not value:
        return []
    out: list[tuple[str, str]] = []
    for item in value.split(","):
        if item:
            name, _, version = item.partition("/")
            out.append((name, version))
    return out


def emote_positions(value: str | None) -> list[tuple[str, int, int]]:
    """``'25:0-4,12-16/1902:6-10'`` -> ``[('25', 0, 4), ('1902', 6, 10), ('25', 12, 16)]``.

    Positions are inclusive Unicode code point offsets into the message text (so Python string
    indexes, correct for non-BMP characters such as emoji). The result is sorted by start. Emote ids
    may themselves contain ``/`` (``80481_/3:7-14``), so a ``/``-separated piece without ``:`` is
    joined to the next one. Malformed ranges are skipped.
    """
    out = emote_positions_as_sent(value)
    out.sort(key=lambda e: e[1])
    return out


def emote_positions_as_sent(value: str | None) -> list[tuple[str, int, int]]:
    """:func:`emote_positions` in the tag's order (emote by emote, each one's ranges as listed)."""
    if not value:
        return []
    out: list[tuple[str, int, int]] = []
    pending = ""
    for piece in value.split("/"):
        if ":" not in piece:
            pending += piece + "/"
            continue
        emote_id, _, ranges = (pending + piece).rpartition(":")
        pending = ""
        for rng in ranges.split(","):
            a, _, b = rng.partition("-")
            if a.isascii() and b.isascii() and a.isdigit() and b.isdigit():
                out.append((emote_id, int(a), int(b)))
    return out


def parse_emotes(value: str | None, text: str) -> list[dict[str, str | int]]:
    """Emotes as ``[{'id', 'start', 'end', 'text'}]`` sorted by position.

    ``text`` is the message without the ``/me`` wrapper; ``end`` is inclusive; ``text`` of an emote
    is ``text[start:end + 1]`` (empty when the range lies outside the message).
    """
    return [
        {"id": emote_id, "start": start, "end": end, "text": text[start : end + 1]}
        for emote_id, start, end in emote_positions(value)
    ]


def channel_of(param: str) -> str:
    """``'#xqcow'`` -> ``'xqcow'``; anything not starting with ``#`` -> ``''``."""
    return param[1:] if param.startswith("#") else ""
