"""API test fixtures: an app over the per-test warehouse, a line loader, and an independent oracle.

:func:`load_lines` turns raw IRC lines into rows with the ingest's own ``classify`` and inserts
them with clickhouse-connect (the lead will swap it for the real dataflow). The oracle
(:func:`parse_line`, :func:`privmsgs`, :func:`clearchats`) re-parses the raw lines with nothing but
``str`` methods, so API answers are checked against the recording, not against the code under test.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from clickhouse_connect.driver.client import Client
from fastapi import FastAPI
from fastapi.testclient import TestClient

from streamscope.api import create_app
from streamscope.records import RawLine
from streamscope.settings import Settings
from tests.api.web import browser  # noqa: F401 - the session's Chromium, for tests/api/test_web_*.py
from tests.data import FIXTURES, XQCOW
from tests.oracle import split_line, unescape

XQCOW_ID = 71092938


def read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


# --- the independent oracle -------------------------------------------------------------------


@dataclass
class Line:
    tags: dict[str, str]
    nick: str
    command: str
    params: list[str]


def parse_line(line: str) -> Line:
    return Line(*split_line(line))


def privmsgs(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Each PRIVMSG as the fields the API must report, in (tmi-sent-ts, ClickHouse UUID) order."""
    out = []
    for raw in lines:
        p = parse_line(raw)
        if p.command != "PRIVMSG":
            continue
        text = p.params[1]
        is_me = text.startswith("\x01ACTION ") and text.endswith("\x01")
        if is_me:
            text = text[len("\x01ACTION ") : -1]
        emotes = []
        for group in filter(None, p.tags.get("emotes", "").split("/")):
            eid, ranges = group.split(":")
            for r in ranges.split(","):
                a, b = (int(x) for x in r.split("-"))
                emotes.append({"id": eid, "start": a, "end": b, "text": text[a : b + 1]})
        out.append(
            {
                "id": p.tags["id"],
                "ts": int(p.tags["tmi-sent-ts"]),
                "room_id": int(p.tags["room-id"]),
                "text": text,
                "is_me": is_me,
                "user_id": int(p.tags["user-id"]),
                "login": p.nick,
                "display_name": p.tags.get("display-name") or None,
                "color": p.tags.get("color") or None,
                "badges": [
                    {"name": b.split("/")[0], "version": b.split("/")[1]}
                    for b in filter(None, p.tags.get("badges", "").split(","))
                ],
                "emotes": sorted(emotes, key=lambda e: e["start"]),
                "bits": int(p.tags.get("bits", "0")),
                "tags": p.tags,
            }
        )
    # ClickHouse orders UUIDs by their last 8 bytes, then their first 8 (see query.messages).
    out.sort(key=lambda m: (m["ts"], m["id"].replace("-", "")[16:], m["id"].replace("-", "")[:16]))
    return out


def clearchats(lines: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    for raw in lines:
        p = parse_line(raw)
        if p.command == "CLEARCHAT":
            target = p.params[1] if len(p.params) > 1 else ""
            duration = p.tags.get("ban-duration")
            kind = "clear" if not target else "timeout" if duration else "ban"
            out.append(
                {
                    "kind": kind,
                    "at": int(p.tags["tmi-sent-ts"]),
                    "target_id": int(p.tags["target-user-id"]) if target else 0,
                    "target": target,
                    "duration": int(duration) if duration else None,
                }
            )
    return sorted(out, key=lambda c: c["at"])


# --- loading ----------------------------------------------------------------------------------


def load_lines(client: Client, path_or_lines: Path | str | Sequence[str]) -> dict[str, int]:
    """Classify raw lines with the ingest's ``classify`` and insert the rows; returns row counts.

    The channels table gets one row per channel seen (first/last time from the lines' tmi-sent-ts).
    ``received_at`` is the line's tmi-sent-ts (0 without one), so loads are deterministic.
    """
    from streamscope.twitch.irc.rows import (
        DEAD_LETTER_COLUMNS,
        EVENT_COLUMNS,
        MESSAGE_COLUMNS,
        classify,
    )

    is_path = isinstance(path_or_lines, (str, Path))
    lines = read_lines(Path(path_or_lines)) if is_path else list(path_or_lines)  # type: ignore[arg-type]
    channel_ids: dict[str, int] = {}
    seen: dict[int, tuple[str, int, int]] = {}
    raw: list[RawLine] = []
    for line in lines:
        p = parse_line(line)
        channel = p.params[0][1:] if p.params and p.params[0].startswith("#") else ""
        ts = int(p.tags.get("tmi-sent-ts") or 0)
        room = p.tags.get("room-id", "")
        if channel and room.isdigit():
            channel_ids.setdefault(channel, int(room))
            first = seen.get(int(room), (channel, ts, ts))
            seen[int(room)] = (channel, min(first[1], ts), max(first[2], ts))
        raw.append(RawLine(channel, line, ts, "test"))
    batch = classify(raw, channel_ids)
    if batch.messages:
        client.insert("chat_messages", batch.messages, column_names=list(MESSAGE_COLUMNS))
    if batch.events:
        client.insert("chat_events", batch.events, column_names=list(EVENT_COLUMNS))
    if batch.dead_letters:
        client.insert("dead_letters", batch.dead_letters, column_names=list(DEAD_LETTER_COLUMNS))
    if seen:
        from datetime import UTC, datetime

        def dt(ms: int) -> datetime:
            return datetime.fromtimestamp(ms / 1000, tz=UTC)

        client.insert(
            "channels",
            [[cid, login, dt(first), dt(last)] for cid, (login, first, last) in seen.items()],
            column_names=["channel_id", "login", "first_seen", "last_seen"],
        )
    return {
        "messages": len(batch.messages),
        "events": len(batch.events),
        "dead_letters": len(batch.dead_letters),
    }


@pytest.fixture
def load() -> Callable[[Client, Path | str | Sequence[str]], dict[str, int]]:
    """:func:`load_lines`, for tests (conftest functions are not importable under importlib mode)."""
    return load_lines


@pytest.fixture
def api(warehouse: Client) -> Iterator[TestClient]:
    """A TestClient over an app bound to this test's warehouse database."""
    with TestClient(create_app(Settings(), client=warehouse), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def serve() -> Iterator[Callable[[FastAPI], str]]:
    """``serve(app)`` → the base URL of ``app`` run by a real uvicorn on a free loopback port, for what
    only a server shows (connections kept or dropped). Servers stop after the test."""
    running: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []

    def start(app: FastAPI) -> str:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
        thread.start()
        running.append((server, thread, sock))
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for server, thread, sock in running:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def xqcow_lines() -> list[str]:
    return read_lines(XQCOW)


@pytest.fixture(scope="session")
def fixture_lines() -> list[str]:
    return [line for path in sorted(FIXTURES.glob("*.log")) for line in read_lines(path)]


@pytest.fixture(scope="session")
def oracle() -> Any:
    """The oracle functions as attributes (``oracle.privmsgs(lines)``, ``oracle.parse_line``, ...)."""

    class Oracle:
        pass

    o = Oracle()
    for fn in (parse_line, privmsgs, clearchats, unescape, read_lines):
        setattr(o, fn.__name__, staticmethod(fn))
    return o
