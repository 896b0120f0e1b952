"""Hype moments: bursts of chat against the channel's own rolling baseline (table ``chat_moments``).

The detector (:func:`detect`) reads the 10-second series of ``chat_stats`` of one channel, time
ordered, empty windows included as zeros. For window ``i``:

* the baseline is the median ``messages`` (and median ``chatters``) of the windows *with chat* among
  the ``baseline_windows`` windows before ``i`` (5 minutes); ignoring empty windows keeps a channel
  coming back from a pause from looking like a burst. With fewer than ``min_history`` such windows
  (2 minutes of chat) the window is not judged (warm-up);
* the window is *hot* when ``messages >= max(rate_ratio * baseline, baseline + z * sqrt(baseline),
  min_messages)`` (a Poisson-style noise margin on top of the ratio, so a quiet channel's 2 → 4
  messages is no burst) and ``chatters >= chatter_ratio * baseline chatters`` (one spammer is no
  burst).

A moment is a run of hot windows, gaps of at most ``max_gap`` cold windows bridged, with at least
``min_windows`` hot windows. It has: ``start`` (first hot window), ``end`` (end of the last one),
``peak`` (the window with most messages, earliest on ties), ``peak_rate`` and ``baseline_rate``
(messages per minute: the peak window's and the baseline at the moment's start, times 6),
``chatters`` (distinct over the moment), ``top_emotes`` (summed ``emote_counts``),
``score = peak_rate / max(baseline_rate, 6) * (1 + emote_concentration)`` where emote_concentration
is the top emote's uses per message in the moment, capped at 1 (a chat that spams one emote together
is a stronger clip candidate), the first ``samples`` messages of the peak window, and the stream
session it starts in.

:func:`refresh_moments` re-runs the detector over the neighbourhood of windows that were just
(re)written and upserts what it finds; a moment it no longer finds there is withdrawn
(``is_deleted = 1``, hidden by FINAL), so corrections never leave stale moments behind.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from clickhouse_connect.driver.client import Client

from streamscope.sinks.isolate import retry_unreachable
from streamscope.sinks.stats import StatsRow, now_ms, top
from streamscope.sinks.streams import session_at, sessions_between

STEP_MS = 10_000


@dataclass(frozen=True, slots=True)
class MomentParams:
    """The detector's parameters (see the module docstring); the defaults are documented in README."""

    baseline_windows: int = 30
    min_history: int = 12
    rate_ratio: float = 2.0
    z: float = 4.0
    min_messages: int = 10
    chatter_ratio: float = 1.5
    min_windows: int = 2
    max_gap: int = 1
    samples: int = 5


DEFAULT_PARAMS = MomentParams()


class Bucket(NamedTuple):
    """One 10-second window of the series as the detector sees it."""

    at: int
    messages: int
    chatters: int
    chatter_ids: list[int]
    emote_counts: dict[str, int]


class Moment(NamedTuple):
    """A detected burst (times epoch ms; rates in messages per minute)."""

    start: int
    end: int
    peak: int
    peak_rate: float
    baseline_rate: float
    score: float
    chatters: int
    top_emotes: list[tuple[str, int]]


class MomentRow(NamedTuple):
    """A ``chat_moments`` row (fields in column order)."""

    channel_id: int
    channel: str
    start: int
    end: int
    peak: int
    peak_rate: float
    baseline_rate: float
    score: float
    chatters: int
    top_emotes: list[tuple[str, int]]
    sample_message_ids: list[str]
    stream_id: str
    computed_at: int
    is_deleted: int


MOMENT_COLUMNS: tuple[str, ...] = MomentRow._fields


def dense(buckets: Sequence[Bucket], start_ms: int, end_ms: int) -> list[Bucket]:
    """``buckets`` with every missing 10 s window of ``[start_ms, end_ms)`` filled in as empty."""
    have = {b.at: b for b in buckets}
    return [have.get(at, Bucket(at, 0, 0, [], {})) for at in range(start_ms, end_ms, STEP_MS)]


def segments(buckets: Sequence[Bucket], gap_ms: int) -> list[list[Bucket]]:
    """``buckets`` (time ordered) as dense series, split where more than ``gap_ms`` has no chat: the
    detector's history never reaches across such a gap, so each part is judged alone (and a year
    of sparse chat is not expanded into millions of empty windows)."""
    parts: list[list[Bucket]] = []
    run: list[Bucket] = []
    for b in buckets:
        if run and b.at - run[-1].at > gap_ms:
            parts.append(dense(run, run[0].at, run[-1].at + STEP_MS))
            run = []
        run.append(b)
    if run:
        parts.append(dense(run, run[0].at, run[-1].at + STEP_MS))
    return parts


def detect(series: Sequence[Bucket], params: MomentParams = DEFAULT_PARAMS) -> list[Moment]:
    """The moments of a dense, time-ordered 10 s series (see the module docstring)."""
    hot: list[bool] = []
    baselines: list[float] = []
    for i, b in enumerate(series):
        hist = [h for h in series[max(0, i - params.baseline_windows) : i] if h.messages > 0]
        if len(hist) < params.min_history:
            hot.append(False)
            baselines.append(0.0)
            continue
        base = statistics.median(h.messages for h in hist)
        base_chatters = statistics.median(h.chatters for h in hist)
        threshold = max(params.rate_ratio * base, base + params.z * math.sqrt(base), params.min_messages)
        hot.append(b.messages >= threshold and b.chatters >= params.chatter_ratio * base_chatters)
        baselines.append(float(base))
    moments = []
    i = 0
    while i < len(series):
        if not hot[i]:
            i += 1
            continue
        run = [i]
        j = i + 1
        while j < len(series) and j - run[-1] <= params.max_gap + 1:
            if hot[j]:
                run.append(j)
            j += 1
        if len(run) >= params.min_windows:
            moments.append(_moment(series[run[0] : run[-1] + 1], baselines[run[0]]))
        i = run[-1] + 1
    return moments


def _moment(windows: Sequence[Bucket], baseline: float) -> Moment:
    peak = max(windows, key=lambda b: (b.messages, -b.at))
    emotes: Counter[str] = Counter()
    chatters: set[int] = set()
    for b in windows:
        emotes.update(b.emote_counts)
        chatters.update(b.chatter_ids)
    messages = sum(b.messages for b in windows)
    tops = top(emotes)
    concentration = min(1.0, tops[0][1] / messages) if tops and messages else 0.0
    peak_rate, baseline_rate = peak.messages * 6.0, baseline * 6.0
    score = peak_rate / max(baseline_rate, 6.0) * (1.0 + concentration)
    return Moment(
        windows[0].at, windows[-1].at + STEP_MS, peak.at, peak_rate, baseline_rate, round(score, 3),
        len(chatters), tops,
    )  # fmt: skip


_SERIES_SQL = (
    "SELECT toUnixTimestamp64Milli(at), messages, chatters, chatter_ids, emote_counts "
    "FROM chat_stats FINAL WHERE channel_id = {cid:UInt64} AND step_s = 10 AND messages > 0 "
    "AND at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
    "AND at < fromUnixTimestamp64Milli({hi:Int64}, 'UTC') ORDER BY at"
)


def load_series(client: Client, channel_id: int, start_ms: int, end_ms: int) -> list[Bucket]:
    """The stored 10 s windows of ``[start_ms, end_ms)`` with chat, time ordered."""
    params = {"cid": channel_id, "lo": start_ms, "hi": end_ms}
    return [
        Bucket(int(at), int(m), int(c), list(ids), dict(em))
        for at, m, c, ids, em in client.query(_SERIES_SQL, parameters=params).result_rows
    ]


def sample_ids(client: Client, channel_id: int, peak_ms: int, n: int) -> list[str]:
    """The first ``n`` message ids of the 10 s window at ``peak_ms`` (time, then id order)."""
    rows = client.query(
        "SELECT toString(message_id) FROM chat_messages FINAL WHERE channel_id = {cid:UInt64} "
        "AND sent_at >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
        "AND sent_at < fromUnixTimestamp64Milli({hi:Int64}, 'UTC') ORDER BY sent_at, message_id "
        "LIMIT {n:UInt32}",
        parameters={"cid": channel_id, "lo": peak_ms, "hi": peak_ms + STEP_MS, "n": n},
    ).result_rows
    return [str(r[0]) for r in rows]


#: How far around re-written windows moments are re-detected: a moment never outlasts the 5 minute
#: baseline (its windows become the baseline), so 10 minutes each side covers every affected one.
REACH_MS = 600_000


def refresh_moments(
    client: Client,
    channel_id: int,
    channel: str,
    start_ms: int,
    end_ms: int,
    params: MomentParams = DEFAULT_PARAMS,
) -> list[MomentRow]:
    """Re-detect the moments starting within ``REACH_MS`` of ``[start_ms, end_ms)`` and store them,
    withdrawing stored ones there that are not found any more; returns the rows written."""
    lo, hi = start_ms - REACH_MS, end_ms + REACH_MS
    history = params.baseline_windows * STEP_MS
    buckets = load_series(client, channel_id, lo - history, hi + REACH_MS)
    found = [m for part in segments(buckets, history) for m in detect(part, params) if lo <= m.start < hi]
    stored = client.query(
        "SELECT toUnixTimestamp64Milli(start) FROM chat_moments FINAL WHERE channel_id = {cid:UInt64} "
        "AND start >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
        "AND start < fromUnixTimestamp64Milli({hi:Int64}, 'UTC')",
        parameters={"cid": channel_id, "lo": lo, "hi": hi},
    ).result_rows
    stamp = now_ms()
    rows = [
        MomentRow(
            channel_id,
            channel,
            m.start,
            m.end,
            m.peak,
            m.peak_rate,
            m.baseline_rate,
            m.score,
            m.chatters,
            m.top_emotes,
            sample_ids(client, channel_id, m.peak, params.samples),
            session_at(sessions_between(client, channel_id, m.start, m.start), m.start),
            stamp,
            0,
        )  # fmt: skip
        for m in found
    ]
    starts = {m.start for m in found}
    rows += [
        MomentRow(channel_id, channel, int(s), int(s), int(s), 0.0, 0.0, 0.0, 0, [], [], "", stamp, 1)
        for (s,) in stored
        if int(s) not in starts
    ]
    if rows:
        data: list[list[Any]] = [list(r) for r in rows]
        retry_unreachable(
            lambda: client.insert("chat_moments", data, column_names=MOMENT_COLUMNS), max_backoff_s=30.0
        )
    return rows


def after_stats_write(params: MomentParams = DEFAULT_PARAMS) -> Any:
    """The stats writer's ``after_write``: refresh the moments around each channel's new 10 s rows."""

    def refresh(client: Client, rows: list[StatsRow]) -> None:
        written: dict[tuple[int, str], list[int]] = {}
        for r in rows:
            if r.step_s == 10:
                written.setdefault((r.channel_id, r.channel), []).append(r.at)
        for (channel_id, channel), ats in written.items():
            spans: list[list[int]] = []
            for at in sorted(ats):
                if spans and at - spans[-1][1] <= 2 * REACH_MS:  # near: one refresh covers both
                    spans[-1][1] = at + STEP_MS
                else:
                    spans.append([at, at + STEP_MS])
            for lo, hi in spans:
                refresh_moments(client, channel_id, channel, lo, hi, params)

    return refresh
