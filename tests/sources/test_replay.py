"""The replay source: real recordings in, deterministic RawLines out."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from streamscope.records import RawLine
from streamscope.sources.replay import ReplayProgress, channel_of, read_lines, replay, sent_ts
from tests.data import XQCOW


def _raw_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def test_channel_of_real_lines() -> None:
    assert channel_of(_raw_lines(XQCOW)[0]) == "xqcow"
    assert channel_of(":tmi.twitch.tv PING") == ""
    assert channel_of(":tmi.twitch.tv RECONNECT") == ""
    assert channel_of(":randers811!randers811@randers811.tmi.twitch.tv JOIN #pajlada") == "pajlada"
    assert (
        channel_of("@room-id=40286300;tmi-sent-ts=1594561392337 :tmi.twitch.tv CLEARCHAT #randers")
        == "randers"
    )
    assert channel_of(":tmi.twitch.tv 001 justinfan1 :Welcome, GLHF!") == ""
    assert channel_of("@a=b") == ""


def test_sent_ts() -> None:
    assert sent_ts(_raw_lines(XQCOW)[0]) == 1568505600501
    assert sent_ts(":tmi.twitch.tv PING") is None
    assert sent_ts("@tmi-sent-ts=;x=1 :tmi.twitch.tv CLEARCHAT #a") is None


def test_every_line_read_once_in_order_with_deterministic_time() -> None:
    expected = _raw_lines(XQCOW)
    first = list(read_lines([XQCOW]))
    again = list(read_lines([XQCOW]))
    assert [r.line for r in first] == expected
    assert first == again  # re-replays are identical records, so the warehouse stores them once
    assert all(r.channel == "xqcow" and r.source == "replay" for r in first)
    assert first[0].received_at == 1568505600501


def test_gzip_crlf_and_blank_lines(tmp_path: Path) -> None:
    lines = _raw_lines(XQCOW)[:50]
    path = tmp_path / "log.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        fh.write("\r\n".join(lines[:25]) + "\r\n\r\n" + "\n".join(lines[25:]) + "\n")
    got: list[RawLine] = []
    progress = ReplayProgress()
    count = replay([path], got.extend, batch_size=7, progress=progress)
    assert count == 50
    assert [r.line for r in got] == lines
    assert progress.lines == 51  # the blank line was read but not published


def test_lines_without_timestamp_take_the_previous_one(tmp_path: Path) -> None:
    path = tmp_path / "mixed.log"
    path.write_text(
        "@tmi-sent-ts=1000;x=1 :tmi.twitch.tv CLEARCHAT #a\n"
        "@emote-only=0;room-id=1 :tmi.twitch.tv ROOMSTATE #a\n",
        encoding="utf-8",
    )
    assert [r.received_at for r in read_lines([path])] == [1000, 1000]


def test_speed_must_be_positive() -> None:
    with pytest.raises(ValueError, match="speed"):
        replay([XQCOW], lambda batch: None, speed=0)
