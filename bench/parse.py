"""Benchmark: streamscope's Twitch IRC parse (+ decode) against chat-downloader 0.2.8.

Run: ``python bench/parse.py [--seconds 1.0]`` (needs the ``bench`` extra: chat-downloader==0.2.8).

What is measured, per line of ``tests/data/irc/recorded/*.log`` (all lines, in file order):

* ``streamscope parse``: :func:`streamscope.twitch.irc.parse` (tags unescaped, prefix, command,
  params) — the IRCv3 layer alone.
* ``streamscope parse+decode``: the above plus :func:`streamscope.twitch.irc.decode` (typed event
  with channel, login, text, /me, ids, timestamps, bits).
* ``chat-downloader``: exactly what ``TwitchChatDownloader._get_chat_messages_by_stream_id`` does
  for each received line: ``_MESSAGE_REGEX`` match (we use ``.match`` on the single line instead of
  ``finditer`` over the socket buffer, which only helps it) and ``_parse_irc_item(match)`` (tag
  split, key remapping, badges, emote names, /me). Its per-line ``_KNOWN_IRC_KEYS`` check and
  message-group filtering are not included.
* ``chat-downloader regex only``: just the ``_MESSAGE_REGEX`` match, as a floor.

Each is repeated over the whole line set until ``--seconds`` elapsed, best of 3 rounds, in one
process; the figures are lines per second and the ratios against ``chat-downloader``.
"""

from __future__ import annotations

import argparse
import glob
import os
import time
from collections.abc import Callable
from typing import Any

from streamscope.twitch.irc import decode, parse

# The repo's tests/data/irc, unless STREAMSCOPE_IRC_DATA names another copy.
DATA = os.environ.get(
    "STREAMSCOPE_IRC_DATA",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "irc"),
)


def load_lines() -> list[str]:
    lines: list[str] = []
    for path in sorted(glob.glob(os.path.join(DATA, "recorded", "*.log"))):
        with open(path, encoding="utf-8", newline="\n") as f:
            lines.extend(line for line in f.read().split("\n") if line)
    return lines


def rate(fn: Callable[[list[str]], Any], lines: list[str], seconds: float) -> float:
    """Best lines/s over 3 rounds of repeating ``fn(lines)`` for about ``seconds``."""
    best = 0.0
    for _ in range(3):
        n = 0
        start = time.perf_counter()
        while True:
            fn(lines)
            n += len(lines)
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        best = max(best, n / elapsed)
    return best


def ours_parse(lines: list[str]) -> None:
    for line in lines:
        parse(line)


def ours_decode(lines: list[str]) -> None:
    for line in lines:
        decode(parse(line))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.0, help="time per round (3 rounds each)")
    args = ap.parse_args()

    from chat_downloader.sites.twitch import TwitchChatDownloader as T  # bench extra

    regex = T._MESSAGE_REGEX
    parse_item = T._parse_irc_item

    def theirs(lines: list[str]) -> None:
        for line in lines:
            m = regex.match(line)
            if m is not None:
                parse_item(m)

    def theirs_regex(lines: list[str]) -> None:
        for line in lines:
            regex.match(line)

    lines = load_lines()
    matched = sum(regex.match(line) is not None for line in lines)
    print(f"{len(lines)} lines from {DATA}/recorded ({matched} matched by chat-downloader's regex)")
    results = {
        "streamscope parse": rate(ours_parse, lines, args.seconds),
        "streamscope parse+decode": rate(ours_decode, lines, args.seconds),
        "chat-downloader regex+_parse_irc_item": rate(theirs, lines, args.seconds),
        "chat-downloader regex only": rate(theirs_regex, lines, args.seconds),
    }
    ref = results["chat-downloader regex+_parse_irc_item"]
    for name, value in results.items():
        print(f"{name:40s} {value:12,.0f} lines/s   {value / ref:6.2f}x chat-downloader")


if __name__ == "__main__":
    main()
