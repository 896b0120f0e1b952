"""A burst injected into a steady real recording: extra copies of the recording's own messages,
re-timed into a short span and given fresh ids, so the span carries ``factor`` times its usual rate.
Used by the moment tests (the detector must find it) and the API's moment tests."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from tests.oracle import split_line

_TS = re.compile(r"tmi-sent-ts=\d+")
_ID = re.compile(r"(^@|;)id=[0-9a-f-]+")
_NS = uuid.UUID("0b7d2f3c-8a51-4e0e-9f7b-6d1c2a3b4c5d")


def lines_of(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def ts_of(line: str) -> int:
    return int(split_line(line)[0]["tmi-sent-ts"])


def inject_burst(
    lines: list[str], start_ms: int, seconds: int = 30, factor: int = 3, tag: str = "b"
) -> list[str]:
    """``lines`` plus ``(factor - 1)`` times as many messages as ``[start_ms, start_ms + seconds)``
    holds, spread evenly over that span (copies of messages from elsewhere in the recording, new
    ids), time ordered."""
    end_ms = start_ms + seconds * 1000
    privmsgs = [line for line in lines if " PRIVMSG #" in line]
    inside = [line for line in privmsgs if start_ms <= ts_of(line) < end_ms]
    donors = [line for line in privmsgs if not start_ms - 120_000 <= ts_of(line) < end_ms + 120_000]
    extra = (factor - 1) * len(inside)
    burst = []
    for k in range(extra):
        donor = donors[k % len(donors)]
        at = start_ms + k * seconds * 1000 // extra
        new_id = uuid.uuid5(_NS, f"{tag}-{start_ms}-{k}")
        line = _TS.sub(f"tmi-sent-ts={at}", donor, count=1)
        burst.append(_ID.sub(f"\\g<1>id={new_id}", line, count=1))
    return sorted(lines + burst, key=ts_of)
