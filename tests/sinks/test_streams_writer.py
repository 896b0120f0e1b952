"""StreamsWriter on real chDB: rows the warehouse refuses are isolated and dead-lettered, the rest stored."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from clickhouse_connect.driver.client import Client

from streamscope.sinks.streams import StreamsBatch, StreamsWriter
from streamscope.twitch.helix import parse_body
from streamscope.twitch.sessions import ChannelState
from streamscope.warehouse.rows import SAMPLE_COLUMNS, ViewerSampleRow
from tests.fixtures.helix_server import NINJA_PAGE, SANDY_PAGE, recorded

T0 = int(datetime.fromisoformat("2018-03-06T16:00:00+00:00").timestamp() * 1000)


def sample_rows(page: Any, polled_at: int) -> list[ViewerSampleRow]:
    """The viewer_samples rows of a recorded GET /streams page (as the dataflow builds them)."""
    poll = parse_body(page, polled_at)
    return [
        ViewerSampleRow(s.channel_id, s.channel, s.sampled_at, s.viewers, s.stream_id, s.started_at,
                        s.game_id, s.game, s.title, s.language, "helix")
        for s in poll.samples
    ]  # fmt: skip


def test_refused_rows_are_dead_lettered_and_every_other_row_is_stored(warehouse: Client) -> None:
    ninja = sample_rows(recorded(NINJA_PAGE), T0)
    sandy = sample_rows(recorded(SANDY_PAGE), T0)
    good = [*ninja, *sandy, *sample_rows(recorded(NINJA_PAGE), T0 + 60_000)]
    # A channel id one past UInt64 (the client refuses it: DataError) and a title with a lone
    # surrogate (UnicodeEncodeError, a ValueError, while encoding): once these crash-looped the flow.
    too_big = ninja[0]._replace(channel_id=2**64)
    surrogate = ninja[0]._replace(title="title \ud800")
    state = ChannelState()
    session_rows = state.step(parse_body(recorded(NINJA_PAGE), T0).samples[0])
    bad_session = session_rows[0]._replace(channel_id=2**64)
    flushed: list[tuple[int, int]] = []
    writer = StreamsWriter(warehouse, on_flush=lambda a, b: flushed.append((a, b)))
    writer.add(
        StreamsBatch(
            samples=[good[0], too_big, *good[1:3], surrogate, *good[3:]],
            sessions=[*session_rows, bad_session],
            channels={ninja[0].channel_id: "ninja", 2**64: "ninja"},
        )
    )
    assert writer.flush() == (len(good), 1)
    assert flushed == [(len(good), 1)]
    assert writer.flush() == (0, 0)  # nothing left behind, nothing inserted twice

    stored = warehouse.query(
        "SELECT channel_id, toUnixTimestamp64Milli(sampled_at), viewers FROM viewer_samples FINAL"
        " ORDER BY channel_id, sampled_at"
    ).result_rows
    assert stored == sorted((r.channel_id, r.sampled_at, r.viewers) for r in good)
    assert warehouse.query("SELECT channel_id, stream_id, samples FROM streams FINAL").result_rows == [
        (ninja[0].channel_id, ninja[0].stream_id, 1)
    ]
    assert warehouse.query("SELECT channel_id, login FROM channels FINAL").result_rows == [
        (ninja[0].channel_id, "ninja")
    ]
    dead = warehouse.query(
        "SELECT stage, source, channel, reason, raw FROM dead_letters ORDER BY reason, raw"
    ).result_rows
    assert [(d[0], d[1], d[2]) for d in dead] == [
        ("insert", "", "ninja"),
        ("insert", "", "ninja"),
        ("insert", "helix", "ninja"),
        ("insert", "helix", "ninja"),
    ]
    assert [d[3].split(":")[0] for d in dead] == [
        "insert into channels failed",
        "insert into streams failed",
        "insert into viewer_samples failed",
        "insert into viewer_samples failed",
    ]
    assert "channel_id" in dead[0][3] and "channel_id" in dead[1][3]
    raws = [json.loads(d[4]) for d in dead]
    assert raws[0] == {
        "channel_id": 2**64,
        "login": "ninja",
        "first_seen": T0 + 60_000,
        "last_seen": T0 + 60_000,
    }
    assert raws[1]["channel_id"] == 2**64 and raws[1]["stream_id"] == ninja[0].stream_id
    assert sorted(json.dumps(r, sort_keys=True) for r in raws[2:]) == sorted(
        json.dumps(dict(zip(SAMPLE_COLUMNS, row, strict=True)), sort_keys=True)
        for row in (too_big, surrogate)
    )

    # A crash before the offsets were committed re-delivers the batch: the same refused rows give
    # the same dead letters (their own times, not the time of refusal), stored once.
    again = StreamsWriter(warehouse)
    again.add(
        StreamsBatch(
            samples=[good[0], too_big, *good[1:3], surrogate, *good[3:]],
            sessions=[*session_rows, bad_session],
            channels={ninja[0].channel_id: "ninja", 2**64: "ninja"},
        )
    )
    assert again.flush() == (len(good), 1)
    assert warehouse.query("SELECT count() FROM dead_letters FINAL").result_rows == [(4,)]
    assert sorted(
        r[0]
        for r in warehouse.query(
            "SELECT toUnixTimestamp64Milli(received_at) FROM dead_letters FINAL"
        ).result_rows
    ) == sorted([T0 + 60_000, session_rows[0].last_sample_at or 0, too_big.sampled_at, surrogate.sampled_at])
