"""The stats dataflow on the in-process bus: real recordings → chat + stats dataflows → chDB, every
window compared with an oracle computed from the raw lines (tests/stats_oracle.py), under a replay
sent twice, late lines after their window was written, and a re-replay hours later."""

from __future__ import annotations

import time
from pathlib import Path

from clickhouse_connect.driver.client import Client

from streamscope import topics
from streamscope.app.runtime import Runtime
from streamscope.pipelines.chat import ParseEnrich
from streamscope.pipelines.stats import ChannelWindows, WindowState, _Clients, touches
from streamscope.pipelines.transport import Received
from streamscope.records import RawLine
from streamscope.sinks.stats import StatsConfig, StatsRow, write_stats
from tests import stats_oracle
from tests.data import FIXTURES, XQCOW
from tests.fixtures.embedded import embedded_runtime
from tests.oracle import split_line

XQCOW_ID = 71092938


def lines_of(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def fixture_lines() -> list[str]:
    """The client libraries' fixture lines the oracle can place: subs, gifts, raids, bits, replies..."""
    return [
        line for f in sorted(FIXTURES.glob("*.log")) for line in lines_of(f) if stats_oracle.relevant(line)
    ]


def raw(lines: list[str]) -> list[RawLine]:
    out = []
    for line in lines:
        tags, _, _, params = split_line(line)
        channel = params[0][1:] if params and params[0].startswith("#") else ""
        out.append(RawLine(channel, line, int(tags.get("tmi-sent-ts") or 0), "test"))
    return out


def start(client: Client, url: str) -> Runtime:
    return embedded_runtime(client, url, batch_rows=500, flush_interval_s=0.1).start_dataflows(
        ["chat", "stats"]
    )


def publish(runtime: Runtime, lines: list[str], batch: int = 400) -> None:
    publisher = runtime.publisher(topics.IRC_RAW, "test")
    records = raw(lines)
    for i in range(0, len(records), batch):
        publisher.publish(records[i : i + batch])


def assert_windows_equal(client: Client, lines: list[str]) -> None:
    for step in (10, 60):
        expected = stats_oracle.windows(lines, step)
        got = stats_oracle.stored(client, step)
        assert sorted(got) == sorted(expected), f"{step}s windows differ"
        for key, values in expected.items():
            assert got[key] == values, f"{step}s window {key}"


def test_replay_gives_every_window_exactly(warehouse: Client, warehouse_url: str) -> None:
    lines = lines_of(XQCOW) + fixture_lines()
    runtime = start(warehouse, warehouse_url)
    publish(runtime, lines)
    runtime.finish(timeout=120)
    assert_windows_equal(warehouse, lines)
    expected = stats_oracle.windows(lines, 60)
    # Not vacuous: the input has every kind of count.
    counted = (
        "first_time_chatters",
        "actions",
        "replies",
        "emotes",
        "bits",
        "new_subs",
        "resubs",
        "gift_subs",
    )
    counted += ("raids", "raid_viewers", "timeouts", "bans", "deletions", "clears")
    totals = {f: sum(w[f] for w in expected.values()) for f in counted}
    assert all(totals.values()), totals


def test_replay_sent_twice_and_late_lines_correct_written_windows(
    warehouse: Client, warehouse_url: str
) -> None:
    lines = lines_of(XQCOW)
    # 40 lines of the recording's second minute are held back and sent after that minute was written.
    minute = 1568505660000
    held = [line for line in lines if minute <= int(split_line(line)[0]["tmi-sent-ts"]) < minute + 60_000][
        ::10
    ][:40]
    first = [line for line in lines if line not in held]
    runtime = start(warehouse, warehouse_url)
    publish(runtime, first)
    publish(runtime, first)  # the whole replay again: every line a duplicate
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        written = stats_oracle.stored(warehouse, 60)
        if (XQCOW_ID, minute) in written:
            break
        time.sleep(0.1)
    before = stats_oracle.stored(warehouse, 60)[(XQCOW_ID, minute)]
    assert before == stats_oracle.windows(first, 60)[(XQCOW_ID, minute)]
    publish(runtime, held)  # late: their windows closed long ago
    runtime.finish(timeout=120)
    assert_windows_equal(warehouse, lines)
    after = stats_oracle.stored(warehouse, 60)[(XQCOW_ID, minute)]
    assert after["messages"] == before["messages"] + sum(" PRIVMSG " in h for h in held)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def feed(logic: ChannelWindows, lines: list[str], parse: ParseEnrich) -> list[StatsRow]:
    out: list[StatsRow] = []
    for i in range(0, len(lines), 500):
        _, batch = parse(Received("t", raw(lines[i : i + 500])))
        for _, t in touches(("t", batch)):
            emitted, _ = logic.on_item(t)
            out += [row for rows in emitted for row in rows]
    return out


def store_chat(client: Client, lines: list[str]) -> None:
    from streamscope.sinks.clickhouse import WarehouseWriter

    writer = WarehouseWriter(client)
    _, batch = ParseEnrich()(Received("t", raw(lines)))
    writer.add(batch)
    writer.flush()


def test_windows_wait_for_the_chat_writer_and_a_re_replay_hours_later_recomputes(
    warehouse: Client, warehouse_url: str
) -> None:
    """The windowing logic alone, on a clock of its own: closed windows are computed only once the
    chat tables hold their lines; a re-replay three hours later makes every window dirty again and
    recomputes it to the same numbers."""
    lines = lines_of(XQCOW)
    clock = Clock(1_800_000_000.0)
    config = StatsConfig(lateness_s=1.0)
    logic = ChannelWindows(WindowState(0, ""), config, _Clients(lambda: warehouse), clock)
    parse = ParseEnrich()
    n_windows = len(stats_oracle.windows(lines, 10)) + len(stats_oracle.windows(lines, 60))
    assert feed(logic, lines, parse) == []  # nothing stored yet: closed windows wait
    clock.now += 70  # past the end of the last minute + lateness: every window closed
    emitted, _ = logic.on_notify()
    assert list(emitted) == []
    assert len(logic.state.waiting) == n_windows and len(logic.state.open) == 0
    store_chat(warehouse, lines)
    clock.now += 3  # the next retry (backing off to at most 2 s)
    emitted, _ = logic.on_notify()
    rows = [row for batch in emitted for row in batch]
    assert len(rows) == n_windows and not logic.state.waiting
    write_stats(warehouse, rows)
    assert_windows_equal(warehouse, lines)

    clock.now += 3 * 3600
    again = feed(logic, lines, parse)  # late, every one: recomputed at once, nothing waits
    assert {(r.step_s, r.at) for r in again} == {(r.step_s, r.at) for r in rows}
    assert {(r.step_s, r.at): r[4:-1] for r in again} == {(r.step_s, r.at): r[4:-1] for r in rows}
    write_stats(warehouse, again)
    assert_windows_equal(warehouse, lines)
