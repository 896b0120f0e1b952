"""Numeric IRC tag values are ASCII digits only: ``str.isdigit`` also accepts "²" and "१", which
``int`` then refuses or misreads."""

from __future__ import annotations

from streamscope.twitch.irc.fields import emote_positions, int_or_none


def test_emote_ranges_with_non_ascii_digits_are_skipped() -> None:
    assert emote_positions("25:0-4,²-5,1-१/1902:6-10") == [("25", 0, 4), ("1902", 6, 10)]


def test_int_tags_take_ascii_digits_only() -> None:
    assert [int_or_none(v) for v in ("12", "-3", "²", "-²", "१", "", None)] == [
        12,
        -3,
        None,
        None,
        None,
        None,
        None,
    ]
