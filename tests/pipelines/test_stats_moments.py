"""Hype moments: a burst (3x the rate for 30 s) injected into the steady #xqcow recording is found by
the stats dataflow with its start within 10 s; the recording alone gives none; the detector's rules
on small synthetic series."""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from streamscope.sinks.moments import Bucket, MomentParams, dense, detect
from tests import stats_oracle
from tests.burst import inject_burst, lines_of
from tests.data import XQCOW
from tests.pipelines.test_stats import publish, start

XQCOW_ID = 71092938
T0 = 1568505600000  # the recording's first second
BURST = T0 + 303_000  # not on a window boundary


def moments(client: Client) -> list[tuple[int, int, int, float, float, float]]:
    return [
        (int(r[0]), int(r[1]), int(r[2]), float(r[3]), float(r[4]), float(r[5]))
        for r in client.query(
            "SELECT toUnixTimestamp64Milli(start), toUnixTimestamp64Milli(end), "
            "toUnixTimestamp64Milli(peak), peak_rate, baseline_rate, score "
            "FROM chat_moments FINAL WHERE channel_id = 71092938 ORDER BY start"
        ).result_rows
    ]


def test_steady_recording_alone_gives_no_moment(warehouse: Client, warehouse_url: str) -> None:
    lines = lines_of(XQCOW)
    runtime = start(warehouse, warehouse_url)
    publish(runtime, lines)
    runtime.finish(timeout=120)
    series = stats_oracle.windows(lines, 10)
    assert len(series) == 47 and max(w["messages"] for w in series.values()) == 169  # real, lively chat
    assert moments(warehouse) == []


def test_injected_burst_is_found_with_its_start(warehouse: Client, warehouse_url: str) -> None:
    lines = inject_burst(lines_of(XQCOW), BURST)
    runtime = start(warehouse, warehouse_url)
    publish(runtime, lines)
    runtime.finish(timeout=120)
    found = moments(warehouse)
    assert len(found) == 1, found
    start_ms, end_ms, peak, peak_rate, baseline_rate, score = found[0]
    assert abs(start_ms - BURST) <= 10_000
    assert BURST + 20_000 <= end_ms <= BURST + 40_000
    series = stats_oracle.windows(lines, 10)
    in_moment = {at: w for (_, at), w in series.items() if start_ms <= at < end_ms}
    top = max(in_moment, key=lambda at: (in_moment[at]["messages"], -at))
    assert peak == top and peak_rate == in_moment[top]["messages"] * 6
    # The baseline: median of the 30 windows before the start (all have chat here), per minute.
    before = sorted(w["messages"] for (_, at), w in series.items() if start_ms - 300_000 <= at < start_ms)
    assert len(before) == 30
    assert baseline_rate == (before[14] + before[15]) / 2 * 6
    assert score >= peak_rate / baseline_rate


def series(*messages: int, chatters: list[int] | None = None) -> list[Bucket]:
    people = chatters or [m // 2 for m in messages]
    return dense(
        [
            Bucket(i * 10_000, m, c, list(range(c)), {})
            for i, (m, c) in enumerate(zip(messages, people, strict=True))
        ],
        0,
        len(messages) * 10_000,
    )


def test_detector_rules() -> None:
    flat = [40, 44, 38, 42, 40, 39, 41, 43, 40, 42, 38, 40]
    assert detect(series(*flat, 40, 41, 39, 42)) == []
    # Warm-up: a burst before 12 windows of history is not judged.
    assert detect(series(40, 41, 120, 130, 125, 40)) == []
    found = detect(series(*flat, 40, 120, 130, 125, 40, 41))
    assert [(m.start, m.end, m.peak, m.peak_rate, m.baseline_rate) for m in found] == [
        (130_000, 160_000, 140_000, 780.0, 240.0)
    ]
    # One hot window is no moment; one cold window inside a burst is bridged.
    assert detect(series(*flat, 120, 40, 40)) == []
    bridged = detect(series(*flat, 120, 60, 125, 40))
    assert [(m.start, m.end) for m in bridged] == [(120_000, 150_000)]
    # A spammer: many messages, few chatters, is no moment.
    spam = detect(series(*flat, 130, 130, 40, chatters=[m // 2 for m in flat] + [20, 20, 20]))
    assert spam == []
    # A quiet channel's 3 -> 9 is under min_messages.
    assert detect(series(*([3] * 12), 9, 9, 3), MomentParams()) == []
