from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from streamscope.twitch.irc import IrcMessage, IrcParseError, parse
from streamscope.twitch.irc.tags import value_round_trips


def test_every_real_line_round_trips(irc_files: dict[str, list[str]]) -> None:
    total = 0
    for name, lines in irc_files.items():
        for line in lines:
            msg = parse(line)
            assert msg.serialize() == line, (name, line)
            total += 1
    assert total == 7514


def test_round_trip_without_raw_tags_when_escaping_is_canonical(irc_files: dict[str, list[str]]) -> None:
    # Rebuilding tags from the parsed dict (no raw section kept) must also be exact for canonical lines.
    checked = 0
    for lines in irc_files.values():
        for line in lines:
            msg = parse(line)
            if msg.raw_tags is None or not all(
                "=" in item and value_round_trips(item.partition("=")[2]) for item in msg.raw_tags.split(";")
            ):
                continue
            if len({i.partition("=")[0] for i in msg.raw_tags.split(";")}) != msg.raw_tags.count(";") + 1:
                continue
            assert replace(msg, raw_tags=None).serialize() == line
            checked += 1
    assert checked > 7000


def test_privmsg_fields(find_line: Callable[[str], str]) -> None:
    line = find_line("id=d831d848-b7c7-4559-ae3a-2cb88f4dbfed")
    msg = parse(line)
    assert msg.command == "PRIVMSG"
    assert msg.prefix == "randers!randers@randers.tmi.twitch.tv"
    assert (msg.nick, msg.user, msg.host) == ("randers", "randers", "randers.tmi.twitch.tv")
    assert msg.params == ("#pajlada", "\x01ACTION -tags\x01")
    assert msg.last_colon is True
    assert list(msg.tags)[:3] == ["badge-info", "badges", "color"]
    assert msg.tags["user-type"] == "mod"


def test_escaped_tag_values_are_unescaped(find_line: Callable[[str], str]) -> None:
    msg = parse(find_line("id=c7ae5c7a-3007-4f9d-9e64-35219a5c1134"))
    assert msg.tags["msg-param-sub-plan-name"] == "Channel Subscription (xqcow)"


def test_server_lines() -> None:
    ping = parse(":tmi.twitch.tv PING tmi.twitch.tv :argument test")
    assert (ping.prefix, ping.nick, ping.user, ping.host) == ("tmi.twitch.tv", "tmi.twitch.tv", None, None)
    assert ping.params == ("tmi.twitch.tv", "argument test")
    bare = parse("PING :tmi.twitch.tv")
    assert (bare.prefix, bare.command, bare.params, bare.tags) == (None, "PING", ("tmi.twitch.tv",), {})
    names = parse(":justinfan12345.tmi.twitch.tv 353 justinfan12345 = #pajlada :justinfan12345")
    assert names.command == "353"
    assert names.params == ("justinfan12345", "=", "#pajlada", "justinfan12345")


def test_colonless_last_param_and_odd_spacing() -> None:
    line = "@bits=1 :lahoooo!lahoooo@lahoooo.tmi.twitch.tv PRIVMSG #pajlada Cheer1"
    msg = parse(line)
    assert (msg.params, msg.last_colon, msg.serialize()) == (("#pajlada", "Cheer1"), False, line)
    for line, params in [
        ("@key=value :tmi.twitch.tv  PING", ()),
        ("@key=value :tmi.twitch.tv PING ", ()),
        ("@key=value :tmi.twitch.tv PING  asd def", ("asd", "def")),
    ]:
        msg = parse(line)
        assert (msg.command, msg.params, msg.serialize()) == ("PING", params, line)
        assert msg.spacing is not None


def test_constructed_message_serializes_with_escaping() -> None:
    msg = IrcMessage("PRIVMSG", ("#chan", "hello world"), {"a": "x y;z", "b": ""})
    assert msg.serialize() == r"@a=x\sy\:z;b= PRIVMSG #chan :hello world"
    assert IrcMessage("PONG", (":x",)).serialize() == "PONG ::x"
    assert IrcMessage("JOIN", ("#chan",)).serialize() == "JOIN #chan"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "empty line"),
        ("@a=b", "tags without a command"),
        ("@a=b ", "tags without a command"),
        (":tmi.twitch.tv", "prefix without a command"),
        ("@a=b :tmi.twitch.tv", "prefix without a command"),
        ("\x00\x01garbage", "invalid command '\\x00\\x01garbage'"),
        ("PRIV-MSG #a :b", "invalid command 'PRIV-MSG'"),
        ("PRIVMSG #a :b\r\nPING", "line contains CR/LF"),
    ],
)
def test_broken_lines_raise(line: str, reason: str) -> None:
    with pytest.raises(IrcParseError) as err:
        parse(line)
    assert err.value.reason == reason
