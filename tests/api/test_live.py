"""``GET /v1/channels/{channel}/live``: server-sent events over a real uvicorn, read with httpx.

The archive holds the recorded #xqcow chat; rows "arriving live" are raw IRC lines made here with
the current time, inserted by the same loader while the stream is open. Expected values come from
the recording (the oracle) and from the lines made here, never from the code under test.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from clickhouse_connect.driver.client import Client
from fastapi import FastAPI

from streamscope.api import create_app
from streamscope.settings import Settings
from streamscope.warehouse.rows import SAMPLE_COLUMNS
from tests.data import XQCOW

XQCOW_ID = 71092938


def privmsg(text: str, ts: int, login: str = "livetester", user_id: int = 4242) -> tuple[str, str]:
    """A Twitch PRIVMSG line in #xqcow sent at ``ts`` (epoch ms), and its message id."""
    mid = str(uuid.uuid4())
    tags = (
        f"@badge-info=;badges=;color=#1E90FF;display-name={login.title()};emotes=;flags=;id={mid};mod=0;"
        f"room-id={XQCOW_ID};subscriber=0;tmi-sent-ts={ts};turbo=0;user-id={user_id};user-type="
    )
    return f"{tags} :{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #xqcow :{text}", mid


def timeout_line(login: str, user_id: int, ts: int) -> str:
    return (
        f"@ban-duration=600;room-id={XQCOW_ID};target-user-id={user_id};tmi-sent-ts={ts} "
        f":tmi.twitch.tv CLEARCHAT #xqcow :{login}"
    )


class Stream:
    """Reads one SSE response on a thread; ``frames`` are (event, id, data) as they come."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.frames: list[tuple[str, str | None, Any]] = []
        self.comments: list[str] = []
        self.status: int | None = None
        self.error: dict[str, Any] | None = None
        self.opened = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url, headers or {}), daemon=True)
        self._thread.start()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        with httpx.stream("GET", url, headers=headers, timeout=30) as response:
            self.status = response.status_code
            if response.status_code != 200:
                self.error = json.loads(response.read())
                self.opened.set()
                return
            assert response.headers["content-type"].startswith("text/event-stream")
            event, eid, data = "message", None, []
            for line in response.iter_lines():
                if line.startswith(":"):
                    self.comments.append(line)
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("id: "):
                    eid = line[4:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "":
                    if data:
                        self.frames.append((event, eid, json.loads("\n".join(data))))
                        self.opened.set()
                    event, eid, data = "message", None, []

    def of(self, kind: str) -> list[Any]:
        return [d for e, _, d in self.frames if e == kind]

    def wait(self, predicate: Callable[[], bool], timeout_s: float = 15) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            assert time.monotonic() < deadline, f"not seen within {timeout_s}s: {self.frames[-5:]}"
            time.sleep(0.05)

    def join(self) -> None:
        self._thread.join(timeout=30)


@pytest.fixture
def site(warehouse: Client, load: Callable[..., Any], serve: Callable[[FastAPI], str]) -> Iterator[str]:
    load(warehouse, XQCOW)
    yield serve(create_app(Settings(), client=warehouse))


def test_backlog_then_new_rows_each_once_with_viewers_and_chat_rate(
    site: str, warehouse: Client, load: Callable[..., Any], oracle: Any
) -> None:
    recorded = oracle.privmsgs(oracle.read_lines(XQCOW))
    stream = Stream(f"{site}/v1/channels/xqcow/live?backlog=5&timeout=8")
    assert stream.opened.wait(15)
    assert stream.status == 200
    # The backlog: the last 5 recorded messages, oldest first, with resume tokens.
    assert [m["id"] for m in stream.of("message")] == [m["id"] for m in recorded[-5:]]
    assert all(eid for e, eid, _ in stream.frames if e == "message")
    assert stream.of("stats")[0]["messages_per_min"] == 0  # nothing in the last minute: 2019 chat

    now = int(time.time() * 1000)
    first, first_id = privmsg("first live <b>line</b>", now - 2000)
    load(warehouse, [first])
    stream.wait(lambda: first_id in [m["id"] for m in stream.of("message")])
    # Stored late, behind the newest key sent, but within the overlap: still delivered, once.
    late, late_id = privmsg("a late one", now - 5000, login="latecomer", user_id=4343)
    load(warehouse, [late, timeout_line("latecomer", 4343, now - 1000)])
    warehouse.insert(
        "viewer_samples",
        [(XQCOW_ID, "xqcow", datetime.fromtimestamp(now / 1000, UTC), 31337, "s1",
          datetime.fromtimestamp((now - 60_000) / 1000, UTC), "1", "Just Chatting", "title", "en", "helix")],
        column_names=SAMPLE_COLUMNS,
    )  # fmt: skip
    stream.wait(lambda: late_id in [m["id"] for m in stream.of("message")] and bool(stream.of("viewers")))
    stream.wait(lambda: any(e["kind"] == "timeout" for e in stream.of("event")))
    stream.wait(lambda: stream.of("stats")[-1]["messages_per_min"] == 2)
    stream.join()  # timeout=8 ends the stream

    messages = stream.of("message")
    ids = [m["id"] for m in messages]
    assert ids == [m["id"] for m in recorded[-5:]] + [first_id, late_id]
    assert messages[5]["text"] == "first live <b>line</b>"
    assert messages[6]["user"]["login"] == "latecomer"
    assert stream.of("viewers") == [{"at": now, "viewers": 31337}]
    assert [e["target"]["login"] for e in stream.of("event") if e["kind"] == "timeout"][-1] == "latecomer"
    stats = stream.of("stats")[-1]
    assert (stats["messages_per_min"], stats["chatters_per_min"]) == (2, 2)


def test_last_event_id_resumes_after_that_message(site: str, warehouse: Client, oracle: Any) -> None:
    recorded = oracle.privmsgs(oracle.read_lines(XQCOW))
    stream = Stream(f"{site}/v1/channels/xqcow/live?backlog=3&timeout=1")
    stream.join()
    tokens = [(eid, d["id"]) for e, eid, d in stream.frames if e == "message"]
    assert [mid for _, mid in tokens] == [m["id"] for m in recorded[-3:]]
    resumed = Stream(
        f"{site}/v1/channels/xqcow/live?timeout=1.5", headers={"Last-Event-ID": tokens[0][0] or ""}
    )
    resumed.join()
    assert [m["id"] for m in resumed.of("message")] == [m["id"] for m in recorded[-2:]]


def test_bad_resume_token_and_unknown_channel_are_errors_before_the_stream(site: str) -> None:
    bad = Stream(f"{site}/v1/channels/xqcow/live", headers={"Last-Event-ID": "nope"})
    bad.join()
    assert bad.status == 400
    assert bad.error == {
        "error": {
            "code": "invalid_cursor",
            "message": "Last-Event-ID: not a cursor returned by this endpoint",
        }
    }
    unknown = Stream(f"{site}/v1/channels/nosuchchannel/live")
    unknown.join()
    assert unknown.status == 404 and unknown.error is not None
    assert unknown.error["error"]["code"] == "unknown_channel"
