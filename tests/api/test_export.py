"""``GET /v1/channels/{channel}/export`` over the real xqcow recording in a real chDB warehouse.

Expected messages come from the oracle of tests/api/conftest.py (plain string parsing of the raw
lines); the file bytes must equal what :func:`open_writer` writes for the same messages decoded
from the raw lines (the capture path), so both paths give one shape.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from api.deps import Warehouse
from api.routes.export import export_client
from sinks.files import FORMATS, FileMessage, messages_from_lines, open_writer
from sinks.files.archive import ArchiveExport, ArchiveQuery
from streamscope.records import RawLine

Load = Callable[[Client, Any], dict[str, int]]
XQCOW_ID = 71092938
URL = "/v1/channels/xqcow/export"


@pytest.fixture
def loaded(api: TestClient, warehouse: Client, load: Load, xqcow_lines: list[str]) -> TestClient:
    load(warehouse, xqcow_lines)
    return api


def _expected_marks(clears: list[dict[str, Any]], m: dict[str, Any]) -> tuple[bool, bool]:
    """(timed_out, banned): the first timeout/ban of the author at or after the message."""
    for c in clears:
        if c["target_id"] == m["user_id"] and c["at"] >= m["ts"] and c["kind"] in ("timeout", "ban"):
            return c["kind"] == "timeout", c["kind"] == "ban"
    return False, False


def _parse(fmt: str, body: bytes) -> list[dict[str, Any]]:
    """Each format back to (id, text, login, ts) records."""
    text = body.decode()
    if fmt in ("json", "jsonl"):
        objs = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
        return [
            {"id": o["message_id"], "text": o["message"], "login": o["author"]["name"], "ts": o["timestamp"]}
            for o in objs
        ]
    if fmt == "csv":
        return [
            {
                "id": r["message_id"],
                "text": r["message"],
                "login": r["author_name"],
                "ts": int(r["timestamp"]),
            }
            for r in csv.DictReader(io.StringIO(text))
        ]
    if fmt == "twitchdownloader":
        return [
            {"id": c["_id"], "text": c["message"]["body"], "login": c["commenter"]["name"], "ts": None}
            for c in json.loads(text)["comments"]
        ]
    raise AssertionError(fmt)


def test_every_format_holds_the_recorded_messages(
    loaded: TestClient, oracle: Any, xqcow_lines: list[str]
) -> None:
    expected = oracle.privmsgs(xqcow_lines)
    assert len(expected) == 4933
    for fmt in FORMATS:
        r = loaded.get(URL, params={"format": fmt})
        assert r.status_code == 200, r.text
        if fmt == "txt":
            lines = r.text.splitlines()
            assert [line.split("] ", 1)[1] for line in lines] == [
                f"{m['display_name'] or m['login']}: {m['text']}" for m in expected
            ]
            continue
        if fmt == "irc":
            by_id = {oracle.parse_line(line).tags.get("id"): line for line in xqcow_lines}
            assert r.text.splitlines() == [by_id[m["id"]] for m in expected]
            continue
        got = _parse(fmt, r.content)
        assert [g["id"] for g in got] == [m["id"] for m in expected], fmt
        assert [g["text"] for g in got] == [m["text"] for m in expected], fmt
        assert [g["login"] for g in got] == [m["login"] for m in expected], fmt
        if fmt != "twitchdownloader":
            assert [g["ts"] for g in got] == [m["ts"] for m in expected], fmt


def test_moderation_marks_follow_the_recorded_timeouts(
    loaded: TestClient, oracle: Any, xqcow_lines: list[str]
) -> None:
    objs = [json.loads(line) for line in loaded.get(URL, params={"format": "jsonl"}).text.splitlines()]
    expected = oracle.privmsgs(xqcow_lines)
    clears = oracle.clearchats(xqcow_lines)
    marks = [_expected_marks(clears, m) for m in expected]
    assert [(o["timed_out"], o["banned"]) for o in objs] == marks
    assert sum(t for t, _ in marks) > 20  # the recording has dozens of timed-out messages
    assert not any(o["deleted"] for o in objs)  # xqcow has no CLEARMSG


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_bytes_equal_the_writer_on_the_captured_lines(
    fmt: str, loaded: TestClient, xqcow_lines: list[str]
) -> None:
    """Warehouse -> file and raw lines -> file agree byte for byte (marks taken from the export)."""
    params = {"format": fmt, "start": "2019-09-15T00:00:00Z", "end": "2019-09-15T00:02:00Z"}
    body = loaded.get(URL, params=params).content
    marks = {
        o["message_id"]: o
        for o in map(json.loads, loaded.get(URL, params={**params, "format": "jsonl"}).text.splitlines())
    }
    captured = {
        m.message_id: m
        for m in messages_from_lines(RawLine("xqcow", line, 0, "t") for line in xqcow_lines)
        if m.message_type == "text_message"
    }
    ordered: list[FileMessage] = []
    for mid, o in marks.items():
        m = captured[mid]
        m.deleted, m.timed_out, m.banned = o["deleted"], o["timed_out"], o["banned"]
        if fmt != "irc":
            m.raw = None
        ordered.append(m)
    assert 0 < len(ordered) < 4933
    buf = io.BytesIO()
    writer = open_writer(fmt, buf, channel="xqcow", start_ms=1568505600000)
    writer.write(ordered)
    writer.close()
    assert body == buf.getvalue()


def test_filters_headers_and_ids(loaded: TestClient, oracle: Any, xqcow_lines: list[str]) -> None:
    params = {"format": "csv", "start": "2019-09-15T00:01:00Z", "end": "2019-09-15T00:03:00+00:00"}
    r = loaded.get("/v1/channels/71092938/export", params=params)
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        r.headers["content-disposition"]
        == 'attachment; filename="xqcow_20190915T000100Z_20190915T000300Z.csv"'
    )
    want = [m["id"] for m in oracle.privmsgs(xqcow_lines) if 1568505660000 <= m["ts"] < 1568505780000]
    assert [g["id"] for g in _parse("csv", r.content)] == want and want

    r = loaded.get(URL, params={"format": "jsonl", "user": "onche"})
    assert r.headers["content-type"] == "application/x-ndjson"
    assert r.headers["content-disposition"] == 'attachment; filename="xqcow_begin_latest.jsonl"'
    onche = [m["id"] for m in oracle.privmsgs(xqcow_lines) if m["login"] == "onche"]
    assert [g["id"] for g in _parse("jsonl", r.content)] == onche and onche
    by_id = loaded.get(URL, params={"format": "jsonl", "user": "48215771"})
    assert by_id.content == r.content


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "needle"),
    [
        (URL, {"format": "xml"}, 400, "invalid_parameter", "format"),
        (URL, {"start": "yesterday"}, 400, "invalid_parameter", "start"),
        (
            URL,
            {"start": "2019-09-15T01:00:00Z", "end": "2019-09-15T00:00:00Z"},
            400,
            "invalid_parameter",
            "end",
        ),
        (URL, {"user": " "}, 400, "invalid_parameter", "user"),
        ("/v1/channels/nobody/export", {}, 404, "unknown_channel", "nobody"),
    ],
)
def test_bad_input_is_a_4xx_with_the_error_shape(
    loaded: TestClient, path: str, params: dict[str, str], status: int, code: str, needle: str
) -> None:
    r = loaded.get(path, params=params)
    assert r.status_code == status
    body = r.json()
    assert body["error"]["code"] == code and needle in body["error"]["message"]


def test_a_large_export_is_streamed_in_blocks(api: TestClient, warehouse: Client) -> None:
    """300k rows leave ClickHouse in many blocks and reach the client in many chunks, each a small
    part of the file: the export never holds all rows (peak memory is measured in bench/export.py)."""
    n = 300_000
    warehouse.command(
        "INSERT INTO chat_messages (channel_id, channel, sent_at, message_id, user_id, user_login, "
        "display_name, text, is_action, bits, tag_layout, received_at, source) "
        "SELECT 7, 'big', fromUnixTimestamp64Milli(toInt64(1568505600000 + number * 10), 'UTC'), "
        "generateUUIDv4(), number % 1000 + 1, concat('u', toString(number % 1000)), '', "
        "concat('message ', toString(number)), false, 0, '', now64(3), 'bench' FROM numbers(300000)"
    )
    warehouse.command("INSERT INTO channels VALUES (7, 'big', now64(3), now64(3))")
    export = ArchiveExport(warehouse, ArchiveQuery(7, "big"), "jsonl")
    sizes = [len(chunk) for chunk in export.chunks()]
    assert export.rows == n and export.blocks == len(sizes) >= 10
    assert max(sizes) < sum(sizes) / 5

    with api.stream("GET", "/v1/channels/big/export", params={"format": "csv"}) as r:
        chunks = [len(c) for c in r.iter_raw()]
    assert len(chunks) >= 10 and max(chunks) < sum(chunks) / 5
    assert sum(chunks) > n * 40


def test_an_export_does_not_hold_up_other_requests(
    warehouse: Client, load: Load, xqcow_lines: list[str]
) -> None:
    """With chDB the export streams on a handle of its own: the API's shared client answers while
    the export's query is still open."""
    if not warehouse.uri.startswith("chdb://"):
        pytest.skip("a ClickHouse server client is shared and held by design")
    load(warehouse, xqcow_lines)
    shared = Warehouse(warehouse)
    with export_client(shared) as client, ThreadPoolExecutor(1) as pool:
        assert client is not warehouse
        chunks = ArchiveExport(client, ArchiveQuery(XQCOW_ID, "xqcow"), "jsonl").chunks()
        first = next(chunks)  # the stream is open now
        other = pool.submit(shared.rows, "SELECT count() FROM chat_messages FINAL")
        assert other.result(timeout=60)[0][0] == 4933
        rest = b"".join(chunks)
    assert len((first + rest).splitlines()) == 4933
