"""Real recorded Twitch IRC lines from tests/data/irc (see its SOURCES.md)."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable

import pytest

from tests.data import IRC

IRC_DATA = str(IRC)


def read_lines(path: str) -> list[str]:
    # newline="\n": some lines hold raw \x01 and must not be touched by universal newlines.
    with open(path, encoding="utf-8", newline="\n") as f:
        return [line for line in f.read().split("\n") if line]


@pytest.fixture(scope="session")
def irc_files() -> dict[str, list[str]]:
    """``{'recorded/xqcow_2019-09-15.log': [lines...], ...}`` for every data file."""
    paths = sorted(glob.glob(os.path.join(IRC_DATA, "*", "*.log")))
    assert len(paths) == 9, paths
    return {os.path.relpath(p, IRC_DATA): read_lines(p) for p in paths}


@pytest.fixture(scope="session")
def find_line(irc_files: dict[str, list[str]]) -> Callable[[str], str]:
    """The one real line containing ``needle`` (fails if none or several)."""

    def find(needle: str) -> str:
        hits = [line for lines in irc_files.values() for line in lines if needle in line]
        assert len(hits) == 1, (needle, len(hits))
        return hits[0]

    return find
