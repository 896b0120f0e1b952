"""The stats and moments readers called as the other layers call them (a bare clickhouse-connect
client, as the agent and the Grafana tests do): exact against the oracle over the raw recording."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.client import Client

from streamscope.query.errors import BadParameter
from streamscope.query.moments import moments_page
from streamscope.query.stats import check_points, parse_step, stats_series
from streamscope.sinks.stats_rebuild import rebuild
from tests import stats_oracle
from tests.api.conftest import load_lines
from tests.burst import inject_burst, lines_of
from tests.data import XQCOW

XQCOW_ID = 71092938
T0 = 1568505600000


def test_series_on_a_bare_client_equals_the_oracle(warehouse: Client) -> None:
    lines = inject_burst(lines_of(XQCOW), T0 + 303_000)
    load_lines(warehouse, lines)
    report = rebuild(warehouse, XQCOW_ID, "xqcow", T0, T0 + 600_000)
    assert report.moments == 1 and report.emptied == 0
    for step in (60, 300, 3600):
        points = stats_series(warehouse, XQCOW_ID, T0, T0 + 3_600_000, step)
        expected = stats_oracle.windows(lines, step)
        assert [(p.at, p.messages, p.chatters, p.emotes, p.timeouts) for p in points] == [
            (at, w["messages"], w["chatters"], w["emotes"], w["timeouts"])
            for (_, at), w in sorted(expected.items())
        ]
    page = moments_page(warehouse, XQCOW_ID, None, None, None, 10)
    assert len(page.moments) == 1 and page.cursor is None
    assert abs(page.moments[0]["start"] - (T0 + 303_000)) <= 10_000
    # A second rebuild changes nothing but computed_at.
    rebuild(warehouse, XQCOW_ID, "xqcow", T0, T0 + 600_000)
    assert stats_series(warehouse, XQCOW_ID, T0, T0 + 3_600_000, 60) == stats_series(
        warehouse, XQCOW_ID, T0, T0 + 3_600_000, 60
    )
    assert moments_page(warehouse, XQCOW_ID, None, None, None, 10) == page


def test_rebuild_zeroes_windows_whose_chat_is_gone(warehouse: Client) -> None:
    lines = lines_of(XQCOW)
    load_lines(warehouse, lines)
    rebuild(warehouse, XQCOW_ID, "xqcow", T0, T0 + 600_000)
    # A "parser fix" removed the first minute's messages: the rebuild corrects the stored window.
    warehouse.command(
        "DELETE FROM chat_messages WHERE channel_id = 71092938 "
        "AND sent_at < fromUnixTimestamp64Milli(1568505660000)"
    )
    report = rebuild(warehouse, XQCOW_ID, "xqcow", T0, T0 + 600_000)
    first = stats_series(warehouse, XQCOW_ID, T0, T0 + 60_000, 60)
    events = [ln for ln in lines if " PRIVMSG " not in ln]
    events_left = stats_oracle.windows(events, 60).get((XQCOW_ID, T0))
    assert events_left  # the first minute keeps its timeouts: a window with events, no messages
    assert [(p.messages, p.timeouts, p.chatters) for p in first] == [(0, events_left["timeouts"], 0)]
    had = {at for (_, at) in stats_oracle.windows(lines, 10) if at < T0 + 60_000}
    keeps = {at for (_, at) in stats_oracle.windows(events, 10) if at < T0 + 60_000}
    assert report.emptied == len(had - keeps) == 4


def test_bad_steps_and_spans() -> None:
    assert [parse_step(s) for s in ("1m", "5m", "1h", "1d")] == [60, 300, 3600, 86400]
    with pytest.raises(BadParameter):
        parse_step("30s")
    check_points(T0, T0 + 10_000 * 60_000, 60)
    with pytest.raises(BadParameter):
        check_points(T0, T0 + 10_001 * 60_000, 60)
