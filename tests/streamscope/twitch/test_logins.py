"""The one login normaliser (``streamscope.twitch.logins``)."""

from __future__ import annotations

from streamscope.twitch.logins import normalize_login, normalize_logins


def test_normalize_login() -> None:
    assert normalize_login(" #XQCow ") == "xqcow"
    assert normalize_login("##Summit1G") == "summit1g"
    assert normalize_login("  ") == ""


def test_normalize_logins_keeps_first_seen_order_without_blanks_or_repeats() -> None:
    assert normalize_logins(["Summit1G", "#xqcow", " ", "#", "summit1g", "XQCOW"]) == ["summit1g", "xqcow"]
