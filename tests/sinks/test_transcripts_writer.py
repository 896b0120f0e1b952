"""TranscriptWriter on real chDB: channel ids and stream sessions filled at flush, refused rows
isolated and dead-lettered, every other row stored."""

from __future__ import annotations

import json
import uuid

from clickhouse_connect.driver.client import Client

from streamscope.sinks.transcripts import TranscriptBatch, TranscriptWriter
from streamscope.warehouse.rows import (
    CHANNEL_COLUMNS,
    STREAM_COLUMNS,
    TRANSCRIPT_SEGMENT_COLUMNS,
    ChannelRow,
    StreamRow,
    TranscriptGapRow,
    TranscriptSegmentRow,
)

CID = 71092938
T0 = 1_568_505_600_000


def segment(start: int, text: str) -> TranscriptSegmentRow:
    return TranscriptSegmentRow(
        0, "xqcow", start, start + 4000, str(uuid.UUID(int=start)), text,
        [(text.split()[0], start, start + 500, 0.9)], -0.2, 0.01, "en", "", "file", "tiny.en",
    )  # fmt: skip


def session(stream_id: str, start: int, end: int | None) -> StreamRow:
    return StreamRow(CID, "xqcow", stream_id, start, end, "", None, 0, 0, 0, [], 1)


def test_writer_fills_ids_and_sessions_and_dead_letters_refused_rows(warehouse: Client) -> None:
    warehouse.insert("channels", [ChannelRow(CID, "xqcow", T0, T0)], column_names=CHANNEL_COLUMNS)
    # An ended session, and a live one that overlaps its last minute: the newest-started wins there.
    sessions = [session("s1", T0, T0 + 120_000), session("s2", T0 + 60_000, None)]
    warehouse.insert("streams", sessions, column_names=STREAM_COLUMNS)
    before = segment(T0 - 10_000, "before the stream")
    first = segment(T0 + 10_000, "first session")
    overlap = segment(T0 + 90_000, "both sessions")
    later = segment(T0 + 600_000, "second session")
    # A lone surrogate cannot be encoded (UnicodeEncodeError, a ValueError): that row alone is refused.
    broken = segment(T0 + 20_000, "broken \ud800")
    gap = TranscriptGapRow(0, "xqcow", T0 + 30_000, T0 + 40_000, "missing", "file")
    flushed: list[tuple[int, int]] = []
    writer = TranscriptWriter(warehouse, on_flush=lambda a, b: flushed.append((a, b)))
    writer.add(TranscriptBatch(segments=[before, first, broken, overlap, later], gaps=[gap]))

    assert writer.flush() == (4, 1)
    assert flushed == [(4, 1)]
    assert writer.flush() == (0, 0)
    stored = warehouse.query(
        "SELECT channel_id, toUnixTimestamp64Milli(start), stream_id, text FROM transcript_segments FINAL"
        " ORDER BY start"
    ).result_rows
    assert stored == [
        (CID, before.start, "", before.text),
        (CID, first.start, "s1", first.text),
        (CID, overlap.start, "s2", overlap.text),
        (CID, later.start, "s2", later.text),
    ]
    assert warehouse.query(
        "SELECT channel_id, toUnixTimestamp64Milli(start), reason FROM transcript_gaps FINAL"
    ).result_rows == [(CID, gap.start, "missing")]
    dead = warehouse.query("SELECT stage, source, channel, reason, raw FROM dead_letters FINAL").result_rows
    assert [(d[0], d[1], d[2]) for d in dead] == [("insert", "file", "xqcow")]
    assert dead[0][3].startswith("insert into transcript_segments failed: ")
    expected = dict(
        zip(TRANSCRIPT_SEGMENT_COLUMNS, broken._replace(channel_id=CID, stream_id="s1"), strict=True)
    )
    assert json.loads(dead[0][4]) == json.loads(json.dumps(expected, default=repr))
    # Re-delivered after a crash, the refused segment gives the same dead letter (at the segment's
    # own start, not the time of refusal), stored once.
    again = TranscriptWriter(warehouse)
    again.add(TranscriptBatch(segments=[broken], gaps=[]))
    assert again.flush() == (0, 0)
    assert warehouse.query(
        "SELECT toUnixTimestamp64Milli(received_at) FROM dead_letters FINAL"
    ).result_rows == [(broken.start,)]
