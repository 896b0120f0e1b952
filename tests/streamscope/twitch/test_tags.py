from __future__ import annotations

import pytest

from streamscope.twitch.irc.tags import (
    escape_tag_value,
    parse_tags,
    raw_tag_items,
    unescape_tag_value,
    value_round_trips,
)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("plain", "plain"),
        (r"a\sb", "a b"),
        (r"a\:b", "a;b"),
        (r"a\\b", "a\\b"),
        (r"\r\n", "\r\n"),
        (r"\\s", "\\s"),  # an escaped backslash followed by a plain 's'
        (r"a\b", "ab"),  # unknown escape: the backslash is dropped
        ("abc\\", "abc"),  # lone trailing backslash: dropped
        ("\\", ""),
        ("", ""),
    ],
)
def test_unescape(raw: str, value: str) -> None:
    assert unescape_tag_value(raw) == value


def test_escape_is_inverse_of_unescape() -> None:
    value = "a;b c\\d\r\ne"
    assert escape_tag_value(value) == r"a\:b\sc\\d\r\ne"
    assert unescape_tag_value(escape_tag_value(value)) == value


def test_value_round_trips_flags_lossy_escapes() -> None:
    assert value_round_trips(r"Channel\sSubscription\s(xqcow)")
    assert not value_round_trips(r"a\b")
    assert not value_round_trips("abc\\")


def test_parse_tags_real_section() -> None:
    raw = r"badges=;display-name=receivertest3\s;emote-sets=0;user-type=;flag"
    assert parse_tags(raw) == {
        "badges": "",
        "display-name": "receivertest3 ",
        "emote-sets": "0",
        "user-type": "",
        "flag": "",
    }
    assert list(parse_tags(raw)) == ["badges", "display-name", "emote-sets", "user-type", "flag"]
    assert raw_tag_items("a=1;b;a=2") == [("a", "1"), ("b", ""), ("a", "2")]
    assert parse_tags("a=1;a=2") == {"a": "2"}  # last one wins
    assert parse_tags("url=https://x/?a=b") == {"url": "https://x/?a=b"}
