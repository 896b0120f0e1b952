"""Where the shared recorded Twitch data lives: ``../shared/data`` beside the checkout."""

from __future__ import annotations

from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
IRC = SHARED_DATA / "irc"
EVENTSUB = SHARED_DATA / "eventsub"
RECORDED = IRC / "recorded"
FIXTURES = IRC / "fixtures"
XQCOW = RECORDED / "xqcow_2019-09-15.log"
PAJLADA = RECORDED / "pajlada_userlog_2018_part1.log"
