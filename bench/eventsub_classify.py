"""Benchmark: EventSub chat frames -> warehouse rows, against the IRC path in the same run.

Run: ``python bench/eventsub_classify.py [--seconds 1.0]``.

What is measured:

* ``eventsub classify``: :func:`streamscope.twitch.eventsub.rows.classify` over the recorded
  ``channel.chat.message``/``channel.chat.notification`` frames of
  ``tests/data/eventsub/chatterino2/benchmark-messages.ndjson`` (12 frames of 1.4-2.2 kB).
* ``irc classify`` (reference): :func:`streamscope.twitch.irc.rows.classify` over the PRIVMSG and
  USERNOTICE lines of ``tests/data/irc/recorded/xqcow_2019-09-15.log``, the same rows from the
  other transport.

Each runs over its whole set until ``--seconds`` elapsed, best of 3 rounds; printed: records/s,
MB/s of input and the ratio of records/s against the IRC reference.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from streamscope.records import RawEvent, RawLine
from streamscope.twitch.eventsub.rows import classify as classify_eventsub
from streamscope.twitch.irc.rows import classify as classify_irc

# The repo's tests/data, unless STREAMSCOPE_DATA names another copy.
DATA = os.environ.get(
    "STREAMSCOPE_DATA",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data"),
)


def load() -> tuple[list[RawEvent], list[RawLine]]:
    path = os.path.join(DATA, "eventsub", "chatterino2", "benchmark-messages.ndjson")
    with open(path, encoding="utf-8") as f:
        frames = [line for line in f.read().split("\n") if line]
    events = [
        RawEvent("", json.loads(t)["metadata"].get("subscription_type", ""), t, 0, "bench")
        for t in frames
        if '"channel.chat.' in t
    ]
    with open(
        os.path.join(DATA, "irc", "recorded", "xqcow_2019-09-15.log"), encoding="utf-8", newline="\n"
    ) as f:
        lines = [
            RawLine("xqcow", line, 0, "bench")
            for line in f.read().split("\n")
            if " PRIVMSG " in line or " USERNOTICE " in line
        ]
    return events, lines


def rate(fn: Callable[[Sequence[Any], dict[str, int]], Any], items: Sequence[Any], seconds: float) -> float:
    best = 0.0
    for _ in range(3):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            fn(items, {})
            n += len(items)
        best = max(best, n / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per round (best of 3)")
    args = parser.parse_args()
    events, lines = load()
    ev_bytes = sum(len(e.payload.encode()) for e in events) / len(events)
    irc_bytes = sum(len(raw.line.encode()) for raw in lines) / len(lines)
    irc = rate(classify_irc, lines, args.seconds)
    es = rate(classify_eventsub, events, args.seconds)
    print(f"{'path':<20} {'records':>8} {'avg bytes':>10} {'records/s':>12} {'MB/s':>8} {'vs irc':>8}")
    for name, n, size, r in (
        ("irc classify", len(lines), irc_bytes, irc),
        ("eventsub classify", len(events), ev_bytes, es),
    ):
        print(f"{name:<20} {n:>8} {size:>10.0f} {r:>12,.0f} {r * size / 1e6:>8.1f} {r / irc:>8.2f}")


if __name__ == "__main__":
    main()
