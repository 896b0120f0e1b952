"""``/v1/channels/{channel}/transcript``, ``/streams/{id}/transcript`` and exports with transcript
lines, over segments the real transcripts dataflow (faster-whisper tiny.en) made from the jfk clip
placed inside the recorded #xqcow chat."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from streamscope import topics
from streamscope.sources.audio.file import FileAudioSource
from streamscope.warehouse.rows import STREAM_COLUMNS, StreamRow
from tests.data import JFK_FLAC, JFK_TEXT, XQCOW
from tests.fixtures.embedded import embedded_runtime
from tests.fixtures.hls_server import load_pcm
from tests.speech_oracle import speech_span_s, wer

XQCOW_ID = 71092938
START = 1568505600501 + 5000  # 5 s after the recording's first message
STREAM = "39000000001"


@pytest.fixture
def transcribed(
    warehouse: Client,
    warehouse_url: str,
    load: Callable[[Client, Path | str | Sequence[str]], dict[str, int]],
) -> list[dict]:
    """xqcow's chat, a stream session from START + 5 s, and jfk spoken from START (its segments as the
    API must report them, read back from the table)."""
    load(warehouse, XQCOW)
    session = StreamRow(XQCOW_ID, "xqcow", STREAM, START + 5000, None, "", None, 0, 0, 0, [], 1)
    warehouse.insert("streams", [session], column_names=STREAM_COLUMNS)
    runtime = embedded_runtime(warehouse, warehouse_url).start_dataflows(["transcripts"])
    publisher = runtime.publisher(topics.AUDIO_CHUNKS, "audio")
    FileAudioSource(str(JFK_FLAC), "xqcow", publisher.publish, start_ms=START).run()
    runtime.finish(60)
    rows = warehouse.query(
        "SELECT toUnixTimestamp64Milli(start), toUnixTimestamp64Milli(end), text, stream_id, channel_id"
        " FROM transcript_segments FINAL ORDER BY start"
    ).result_rows
    assert rows and all(r[4] == XQCOW_ID for r in rows)  # the writer found the channel's id
    return [{"start": r[0], "end": r[1], "text": r[2], "stream_id": r[3] or None} for r in rows]


def test_transcript_page_is_what_was_said_at_its_time(api: TestClient, transcribed: list[dict]) -> None:
    body = api.get("/v1/channels/xqcow/transcript").json()
    assert body["cursor"] is None
    got = [{k: s[k] for k in ("start", "end", "text", "stream_id")} for s in body["segments"]]
    assert got == transcribed
    assert wer(JFK_TEXT.read_text(), " ".join(s["text"] for s in got)) == 0.0
    onset, _ = speech_span_s(load_pcm(JFK_FLAC))
    assert abs(got[0]["start"] - (START + onset * 1000)) <= 1000
    # The session started 5 s in: segments from then on carry its id, earlier ones none.
    assert [s["stream_id"] for s in got] == [STREAM if s["start"] >= START + 5000 else None for s in got]
    first = body["segments"][0]
    assert first["language"] == "en" and first["words"] and -5 < first["avg_logprob"] <= 0
    words = [w["word"] for s in body["segments"] for w in s["words"]]
    assert wer(JFK_TEXT.read_text(), " ".join(words)) == 0.0
    assert all(
        s["start"] <= w["start"] <= w["end"] <= s["end"] + 1 for s in body["segments"] for w in s["words"]
    )


def test_q_filters_and_cursor_pages(api: TestClient, transcribed: list[dict]) -> None:
    want = [s["text"] for s in transcribed if "country can" in s["text"].lower()]
    assert want
    got = api.get("/v1/channels/71092938/transcript", params={"q": "COUNTRY CAN"}).json()["segments"]
    assert [s["text"] for s in got] == want
    pages, cursor = [], None
    while True:
        params = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        body = api.get("/v1/channels/xqcow/transcript", params=params).json()
        pages += [s["text"] for s in body["segments"]]
        cursor = body["cursor"]
        if cursor is None:
            break
    assert pages == [s["text"] for s in transcribed]
    windowed = api.get(
        "/v1/channels/xqcow/transcript",
        params={"start": "2019-09-15T00:00:10.501Z", "end": "2019-09-16T00:00:00Z"},
    ).json()["segments"]
    assert [s["text"] for s in windowed] == [s["text"] for s in transcribed if s["start"] >= START + 5000]


def test_stream_session_transcript(api: TestClient, transcribed: list[dict]) -> None:
    body = api.get(f"/v1/channels/xqcow/streams/{STREAM}/transcript").json()
    assert [s["text"] for s in body["segments"]] == [
        s["text"] for s in transcribed if s["start"] >= START + 5000
    ]
    assert api.get("/v1/channels/xqcow/streams/nope/transcript").status_code == 404


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/channels/nobody_here/transcript", 404, "unknown_channel"),
        ("/v1/channels/xqcow/transcript?cursor=bogus", 400, "invalid_cursor"),
        ("/v1/channels/xqcow/transcript?start=2019-09-16&end=2019-09-15", 400, "invalid_parameter"),
        ("/v1/channels/xqcow/transcript?limit=0", 400, None),
    ],
)
def test_bad_requests_are_4xx_with_the_error_shape(
    api: TestClient, transcribed: list[dict], path: str, status: int, code: str | None
) -> None:
    response = api.get(path)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["message"] and (code is None or error["code"] == code)


def test_export_interleaves_transcript_lines_with_chat(api: TestClient, transcribed: list[dict]) -> None:
    window = {"start": "2019-09-15T00:00:04Z", "end": "2019-09-15T00:00:20Z"}
    plain = api.get("/v1/channels/xqcow/export", params={"format": "jsonl", **window}).text.splitlines()
    mixed = api.get(
        "/v1/channels/xqcow/export", params={"format": "jsonl", "transcript": "true", **window}
    ).text.splitlines()
    rows = [json.loads(line) for line in mixed]
    spoken = [r for r in rows if r["message_type"] == "transcript"]
    assert [(r["timestamp"], r["message"]) for r in spoken] == [(s["start"], s["text"]) for s in transcribed]
    assert all(r["author"]["name"] == "xqcow" for r in spoken)
    # Chat is untouched, and every row is in time order.
    assert [json.loads(line) for line in plain] == [r for r in rows if r["message_type"] != "transcript"]
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)
    txt = api.get("/v1/channels/xqcow/export", params={"format": "txt", "transcript": "true", **window}).text
    voice = [line for line in txt.splitlines() if "] [voice] xqcow: " in line]
    assert [line.split("] [voice] xqcow: ", 1)[1] for line in voice] == [s["text"] for s in transcribed]
