"""The one login normaliser (``streamscope.twitch.logins``)."""

from __future__ import annotations

from streamscope.twitch.logins import is_login, normalize_login, normalize_logins


def test_normalize_login() -> None:
    assert normalize_login(" #XQCow ") == "xqcow"
    assert normalize_login("##Summit1G") == "summit1g"
    assert normalize_login("  ") == ""


def test_normalize_logins_keeps_first_seen_order_without_blanks_or_repeats() -> None:
    assert normalize_logins(["Summit1G", "#xqcow", " ", "#", "summit1g", "XQCOW"]) == ["summit1g", "xqcow"]


def test_is_login_accepts_twitch_login_syntax_only() -> None:
    assert all(map(is_login, ["xqcow", "summit1g", "a", "_x_", "7" * 25, "a" * 25]))
    # Non-ASCII digits and letters (which str.isdigit/isalnum and re's \d/\w accept), upper case
    # (normalise first), separators, and more than 25 characters are not logins.
    for bad in ["", "²", "١٢", "é", "XQCow", "x y", "x.y", "x-y", "a" * 26, "xqcow\n"]:
        assert not is_login(bad), bad
