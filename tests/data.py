"""Where the recorded Twitch data the tests and benchmarks read lives: ``tests/data`` in the repo.

Each top-level folder (``irc``, ``eventsub``, ``helix``, ``vod``) carries its ``SOURCES.md`` with the
origin and license of the files; the files are byte-identical copies of the recordings.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
IRC = DATA / "irc"
EVENTSUB = DATA / "eventsub"
HELIX = DATA / "helix"
VOD = DATA / "vod"
RECORDED = IRC / "recorded"
FIXTURES = IRC / "fixtures"
XQCOW = RECORDED / "xqcow_2019-09-15.log"
PAJLADA = RECORDED / "pajlada_userlog_2018_part1.log"
