"""``GET /v1/channels/{channel}/export`` over the real xqcow recording in a real chDB warehouse.

Expected rows come from the oracle of tests/api/conftest.py (plain string parsing of the raw lines):
the 4,933 messages and the 67 events (57 timeouts, 1 ban, 8 resubs, 1 sub) in time order; the file bytes
must equal what :func:`open_writer` writes for the same lines decoded by the capture path
(``messages_from_lines``), so both paths give one shape.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from streamscope.api import create_app
from streamscope.records import RawLine
from streamscope.settings import Settings
from streamscope.sinks.files import FORMATS, FileMessage, messages_from_lines, open_writer
from tests.synthetic import BIG_MESSAGES, insert_big_channel

Load = Callable[[Client, Any], dict[str, int]]
XQCOW_ID = 71092938
URL = "/v1/channels/xqcow/export"
USERNOTICE_TYPES = {"sub": "subscription", "resub": "resubscription"}  # xqcow's two msg-ids


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


def _rows(oracle: Any, lines: list[str]) -> list[dict[str, Any]]:
    """Messages and events of the recording as (type, ts, login, text, line), in export order: by
    time, a millisecond's messages before its events (xqcow has no two events in one ms)."""
    rows = [
        {"type": "text_message", "ts": m["ts"], "login": m["login"], "id": m["id"], "text": m["text"], **m}
        for m in oracle.privmsgs(lines)
    ]
    by_id = {oracle.parse_line(line).tags.get("id"): line for line in lines}
    for r in rows:
        r["line"] = by_id[r["id"]]
    events = []
    for line in lines:
        p = oracle.parse_line(line)
        if p.command == "CLEARCHAT":
            kind = "timeout" if p.tags.get("ban-duration") else "ban"
            events.append({"type": kind, "login": p.params[1], "duration": p.tags.get("ban-duration")})
        elif p.command == "USERNOTICE":
            events.append({"type": USERNOTICE_TYPES[p.tags["msg-id"]], "login": p.tags["login"]})
            events[-1].update(system=p.tags["system-msg"], id=p.tags["id"], name=p.tags["display-name"])
        else:
            continue
        text = p.params[1] if p.command == "USERNOTICE" and len(p.params) > 1 else ""
        events[-1].update(ts=int(p.tags["tmi-sent-ts"]), text=text, line=line)
    assert len(set(e["ts"] for e in events)) == len(events)
    return sorted(rows + events, key=lambda r: (r["ts"], r["type"] != "text_message"))  # stable


def _parse(fmt: str, body: bytes) -> list[dict[str, Any]]:
    """Each format back to (type, id, text, login, ts) records; login is the author's, or for a
    timeout/ban the target's."""
    text = body.decode()
    if fmt in ("json", "jsonl"):
        objs = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
        return [
            {
                "type": o["message_type"],
                "id": o["message_id"],
                "text": o["message"],
                "login": o["author"]["name"] or (o["target"] or {}).get("name"),
                "ts": o["timestamp"],
            }
            for o in objs
        ]
    if fmt == "csv":
        return [
            {
                "type": r["message_type"],
                "id": r["message_id"],
                "text": r["message"],
                "login": r["author_name"] or r["target_name"],
                "ts": int(r["timestamp"]),
            }
            for r in csv.DictReader(io.StringIO(text))
        ]
    if fmt == "twitchdownloader":
        return [
            {
                "type": c["message"]["user_notice_params"]["msg_id"] or "text_message",
                "id": c["_id"],
                "text": c["message"]["body"],
                "login": c["commenter"]["name"],
                "ts": None,
            }
            for c in json.loads(text)["comments"]
        ]
    raise AssertionError(fmt)


def _txt(r: dict[str, Any]) -> str:
    if r["type"] == "text_message":
        return f"{r['display_name'] or r['login']}: {r['text']}"
    if r["type"] == "timeout":
        return f"{r['login']} was timed out for {r['duration']}s"
    if r["type"] == "ban":
        return f"{r['login']} was banned"
    return f"{r['system']} | {r['name']}: {r['text']}" if r["text"] else r["system"]


def test_every_format_holds_the_recorded_messages_and_events(
    loaded: TestClient, oracle: Any, xqcow_lines: list[str]
) -> None:
    expected = _rows(oracle, xqcow_lines)
    assert len(expected) == 5000 and sum(r["type"] == "text_message" for r in expected) == 4933
    for fmt in FORMATS:
        r = loaded.get(URL, params={"format": fmt})
        assert r.status_code == 200, r.text
        if fmt == "txt":
            assert [line.split("] ", 1)[1] for line in r.text.splitlines()] == [_txt(e) for e in expected]
            continue
        if fmt == "irc":
            assert r.text.splitlines() == [e["line"] for e in expected]
            continue
        want = expected
        if fmt == "twitchdownloader":  # comments: messages and USERNOTICEs (by Twitch's msg-id)
            names = {v: k for k, v in USERNOTICE_TYPES.items()}
            want = [
                {**e, "type": names.get(e["type"], e["type"])}
                for e in expected
                if e["type"] not in ("timeout", "ban")
            ]
            for e in want:
                if e["type"] != "text_message":
                    e["text"] = f"{e['system']} {e['text']}".strip()
        got = _parse(fmt, r.content)
        assert [(g["type"], g["login"], g["text"]) for g in got] == [
            (e["type"], e["login"], e["text"]) for e in want
        ], fmt
        # CLEARCHAT has no id of its own (a UUID derived from the line); the others are Twitch's.
        assert [g["id"] for g in got if g["type"] not in ("timeout", "ban")] == [
            e["id"] for e in want if e["type"] not in ("timeout", "ban")
        ], fmt
        if fmt != "twitchdownloader":
            assert [g["ts"] for g in got] == [e["ts"] for e in want], fmt


def test_events_false_exports_the_messages_only(
    loaded: TestClient, oracle: Any, xqcow_lines: list[str]
) -> None:
    r = loaded.get(URL, params={"format": "irc", "events": "false"})
    assert r.text.splitlines() == [
        e["line"] for e in _rows(oracle, xqcow_lines) if e["type"] == "text_message"
    ]


def test_moderation_marks_follow_the_recorded_timeouts(
    loaded: TestClient, oracle: Any, xqcow_lines: list[str]
) -> None:
    objs = [json.loads(line) for line in loaded.get(URL, params={"format": "jsonl"}).text.splitlines()]
    chat = [o for o in objs if o["message_type"] == "text_message"]
    expected = oracle.privmsgs(xqcow_lines)
    clears = oracle.clearchats(xqcow_lines)
    marks = [_expected_marks(clears, m) for m in expected]
    assert [(o["timed_out"], o["banned"]) for o in chat] == marks
    assert sum(t for t, _ in marks) > 20  # the recording has dozens of timed-out messages
    assert not any(o["deleted"] for o in chat)  # xqcow has no CLEARMSG
    assert len(objs) - len(chat) == 67
    assert all(
        (o["deleted"], o["timed_out"], o["banned"]) == (None, None, None) for o in objs if o not in chat
    )


def _export_order(m: FileMessage) -> tuple[int, bool, int, int]:
    """Time; a millisecond's messages before its events; ClickHouse's UUID order (low 64 bits
    first)."""
    n = uuid.UUID(m.message_id).int
    return m.timestamp, m.message_type != "text_message", n & (2**64 - 1), n >> 64


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_bytes_equal_the_writer_on_the_captured_lines(
    fmt: str, loaded: TestClient, xqcow_lines: list[str]
) -> None:
    """Warehouse -> file and raw lines -> file agree byte for byte, messages and events (marks
    taken from the export)."""
    params = {"format": fmt, "start": "2019-09-15T00:00:00Z", "end": "2019-09-15T00:02:00Z"}
    body = loaded.get(URL, params=params).content
    marks = [
        json.loads(line) for line in loaded.get(URL, params={**params, "format": "jsonl"}).text.splitlines()
    ]
    captured = sorted(
        (
            m
            for m in messages_from_lines(RawLine("xqcow", line, 0, "t") for line in xqcow_lines)
            if 1568505600000 <= m.timestamp < 1568505720000
        ),
        key=_export_order,
    )
    assert [(o["message_id"], o["message_type"]) for o in marks] == [
        (m.message_id, m.message_type) for m in captured
    ]
    for m, o in zip(captured, marks, strict=True):
        m.deleted, m.timed_out, m.banned = o["deleted"], o["timed_out"], o["banned"]
    assert 0 < len(captured) < 5000
    assert sum(m.message_type != "text_message" for m in captured) == 13  # 10 timeouts, 2 resubs, a sub
    buf = io.BytesIO()
    writer = open_writer(fmt, buf, channel="xqcow", start_ms=1568505600000)
    writer.write(captured)
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
    rows = _rows(oracle, xqcow_lines)
    want = [(e["type"], e["ts"], e["login"]) for e in rows if 1568505660000 <= e["ts"] < 1568505780000]
    assert [(g["type"], g["ts"], g["login"]) for g in _parse("csv", r.content)] == want and want

    # onche's messages and the two timeouts of onche (a user export holds what concerns the user).
    r = loaded.get(URL, params={"format": "jsonl", "user": "onche"})
    assert r.headers["content-type"] == "application/x-ndjson"
    assert r.headers["content-disposition"] == 'attachment; filename="xqcow_begin_latest.jsonl"'
    onche = [(e["type"], e["ts"]) for e in rows if e["login"] == "onche"]
    assert [(g["type"], g["ts"]) for g in _parse("jsonl", r.content)] == onche
    timeouts = sum(line.endswith(" CLEARCHAT #xqcow :onche") for line in xqcow_lines)
    assert [t for t, _ in onche].count("timeout") == timeouts >= 2 and len(onche) > timeouts
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
        (URL, {"events": "sometimes"}, 400, "invalid_parameter", "events"),
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
    """300k messages reach the client in many chunks, each a small part of the file: the response is
    streamed as the reader yields blocks (the reader's own blocks: tests/query/test_archive.py)."""
    insert_big_channel(warehouse)
    with api.stream("GET", "/v1/channels/big/export", params={"format": "csv"}) as r:
        chunks = [len(c) for c in r.iter_raw()]
    assert len(chunks) >= 10 and max(chunks) < sum(chunks) / 5
    assert sum(chunks) > BIG_MESSAGES * 40


async def test_exports_past_the_limit_are_429_and_the_api_keeps_answering(
    warehouse: Client, load: Load, xqcow_lines: list[str], tmp_path: Path
) -> None:
    """Two readers that stop reading after the first block hold both export slots; a third export is
    refused at once (429, Retry-After, error shape) while /healthz still answers; once the readers go
    on, the slots are free again."""
    load(warehouse, xqcow_lines)
    app = create_app(Settings(jobs_dir=str(tmp_path / "jobs"), export_max_concurrent=2), client=warehouse)
    go_on = asyncio.Event()
    reading = [asyncio.Event(), asyncio.Event()]
    statuses: list[int] = []

    async def slow_reader(i: int) -> None:
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await go_on.wait()
            await asyncio.sleep(3600)  # never disconnects: the reader takes the whole file
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            elif message.get("body"):
                reading[i].set()
                await go_on.wait()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": URL,
            "raw_path": URL.encode(),
            "root_path": "",
            "query_string": b"format=jsonl",
            "headers": [(b"host", b"export.test")],
            "client": ("127.0.0.1", 1),
            "server": ("export.test", 80),
        }
        await app(scope, receive, send)

    readers = [asyncio.create_task(slow_reader(i)) for i in range(2)]
    transport = httpx.ASGITransport(app=app)
    try:
        async with asyncio.timeout(60):
            await asyncio.gather(*(r.wait() for r in reading))
        async with httpx.AsyncClient(transport=transport, base_url="http://export.test") as client:
            refused = await client.get(URL, params={"format": "csv"})
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) > 0
            assert refused.json()["error"]["code"] == "too_many_exports"
            assert (await client.get("/healthz")).status_code == 200
            go_on.set()
            async with asyncio.timeout(60):
                await asyncio.gather(*readers)
            assert statuses == [200, 200]
            again = await client.get(URL, params={"format": "csv"})
            assert again.status_code == 200 and again.text.startswith("message_id,")
    finally:
        go_on.set()
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
