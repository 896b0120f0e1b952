"""Capture jobs through the HTTP API (the seed "Twitch Chat Tracker" contract), end to end.

Live jobs capture from the loopback Twitch IRC server replaying the real #xqcow recording; VOD jobs
read the loopback Twitch GQL server serving the same recording as replay comments. Expected files
come from :mod:`tests.capture.oracle`, which reads the raw lines independently.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from clickhouse_connect.driver.client import Client

from streamscope.api import create_app
from streamscope.settings import Settings
from tests.capture.oracle import expected, privmsg, read_file, txt_lines
from tests.data import XQCOW
from tests.fixtures.twitch_gql_server import TwitchGqlServer
from tests.fixtures.twitch_irc_server import TwitchIrcServer, channel_param, load_lines

LINES = load_lines(XQCOW)
XQCOW_ID = "71092938"
TIMEOUT = 60.0

MakeApi = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def make_api(
    warehouse: Client, tmp_path: Path, twitch_irc_server: TwitchIrcServer, twitch_gql_server: TwitchGqlServer
) -> AsyncIterator[MakeApi]:
    """``await make_api()`` → an HTTP client on a fresh app whose jobs live in ``tmp_path/jobs``.

    Several apps may share the jobs directory (a restart); each app's job manager is stopped after
    the test, off the event loop (jobs talk to the loopback servers on this loop).
    """
    clients: list[tuple[httpx.AsyncClient, Any]] = []

    async def make(**overrides: Any) -> httpx.AsyncClient:
        settings = Settings(
            **{
                "jobs_dir": str(tmp_path / "jobs"),
                "twitch_irc_url": twitch_irc_server.url,
                "twitch_gql_url": twitch_gql_server.url,
                **overrides,
            }
        )
        app = create_app(settings, client=warehouse)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://capture.test")
        client.app = app  # type: ignore[attr-defined]
        clients.append((client, app))
        return client

    yield make
    for client, app in clients:
        await asyncio.to_thread(app.state.captures.stop)
        await client.aclose()


async def start(api: httpx.AsyncClient, **body: Any) -> str:
    res = await api.post("/download", json=body)
    assert res.status_code == 202, res.text
    created = res.json()
    job_id = created["download_id"]
    assert created["status_url"] == f"/status/{job_id}"
    assert created["download_url"] == f"/download/{job_id}"
    return str(job_id)


async def status(api: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    res = await api.get(f"/status/{job_id}")
    assert res.status_code == 200, res.text
    return dict(res.json())


async def wait_for(
    api: httpx.AsyncClient,
    job_id: str,
    predicate: Callable[[dict[str, Any]], bool],
    timeout_s: float = TIMEOUT,
) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s):
        while not predicate(current := await status(api, job_id)):
            await asyncio.sleep(0.05)
    return current


def ended(s: dict[str, Any]) -> bool:
    return s["status"] in ("finished", "failed", "cancelled")


async def connections_on(server: TwitchIrcServer, channel: str, n: int) -> None:
    await server.wait_until(lambda: sum(channel in c.channels for c in server.open_connections) >= n, TIMEOUT)


def assert_file(fmt: str, data: bytes, want: list[dict[str, Any]]) -> None:
    """The file holds exactly ``want`` (every field the format has), in order."""
    if fmt != "txt":
        assert read_file(fmt, data) == want
        return
    got = [r["line"] for r in read_file(fmt, data)]
    assert len(got) == len(want)
    chat = iter(txt_lines(want))
    for line, record in zip(got, want, strict=True):
        if record["message_type"] == "text_message":
            assert line == next(chat)
        else:  # events are worded by the writer; their time is still the event's
            assert line.startswith(
                txt_lines(
                    [
                        {
                            **record,
                            "author_name": "",
                            "author_display_name": "",
                            "message": "",
                            "message_type": "text_message",
                        }
                    ]
                )[0][:21]
            )


# -- live capture ---------------------------------------------------------------------------------


async def test_max_messages_in_each_format_is_exact(
    make_api: MakeApi, twitch_irc_server: TwitchIrcServer
) -> None:
    api = await make_api()
    formats = ["json", "jsonl", "csv", "txt"]
    ids = {
        f: await start(api, url="https://www.twitch.tv/xqcow", format=f, max_messages=300) for f in formats
    }
    await connections_on(twitch_irc_server, "xqcow", len(formats))
    play = asyncio.create_task(
        twitch_irc_server.play(LINES[:1200], lines_per_frame=20, join_timeout_s=TIMEOUT)
    )
    want = expected(LINES[:1200])[:300]
    assert sum(w["message_type"] == "text_message" for w in want) < 300  # events are counted too
    try:
        for fmt, job_id in ids.items():
            s = await wait_for(api, job_id, ended)
            assert (s["status"], s["stop_reason"], s["messages"], s["error"]) == (
                "finished",
                "max_messages",
                300,
                None,
            )
            res = await api.get(f"/download/{job_id}")
            assert res.status_code == 200
            assert s["bytes"] == len(res.content) > 0
            assert res.headers["content-disposition"] == f'attachment; filename="xqcow-{job_id[:8]}.{fmt}"'
            assert (
                res.headers["content-type"].split(";")[0]
                == {
                    "json": "application/json",
                    "jsonl": "application/x-ndjson",
                    "csv": "text/csv",
                    "txt": "text/plain",
                }[fmt]
            )
            assert_file(fmt, res.content, want)
    finally:
        play.cancel()
        await asyncio.gather(play, return_exceptions=True)


async def test_timeout_ends_the_job_with_every_message_received(
    make_api: MakeApi, twitch_irc_server: TwitchIrcServer
) -> None:
    api = await make_api()
    job_id = await start(api, url="https://www.twitch.tv/xqcow", format="jsonl", timeout=5)
    await connections_on(twitch_irc_server, "xqcow", 1)
    await twitch_irc_server.play(LINES[:400], lines_per_frame=25)
    want = expected(LINES[:400])
    running = await wait_for(api, job_id, lambda s: s["messages"] == len(want) or ended(s))
    assert running["status"] == "running"  # all 400 lines arrived well within the 5 s
    s = await wait_for(api, job_id, ended)
    assert (s["status"], s["stop_reason"], s["messages"]) == ("finished", "timeout", len(want))
    assert s["elapsed"] >= 5
    assert s["rate"] == pytest.approx(len(want) / s["elapsed"], rel=0.01)
    res = await api.get(f"/download/{job_id}")
    assert_file("jsonl", res.content, want)


async def test_jsonl_is_served_while_running_json_only_after_cancel(
    make_api: MakeApi, twitch_irc_server: TwitchIrcServer
) -> None:
    api = await make_api()
    jsonl = await start(api, url="https://www.twitch.tv/xqcow", format="jsonl")
    as_json = await start(api, url="https://www.twitch.tv/xqcow", format="json")
    await connections_on(twitch_irc_server, "xqcow", 2)
    await twitch_irc_server.play(LINES[:500], lines_per_frame=25)
    want = expected(LINES[:500])
    for job_id in (jsonl, as_json):
        s = await wait_for(api, job_id, lambda s: s["messages"] == len(want))
        assert s["status"] == "running"
        assert s["timeout"] == 7200  # the default is the 2 h maximum

    res = await api.get(f"/download/{jsonl}")
    assert res.status_code == 200
    assert_file("jsonl", res.content, want)
    res = await api.get(f"/download/{as_json}")
    assert res.status_code == 409
    assert res.json()["error"]["code"] == "not_ready"

    res = await api.delete(f"/download/{as_json}")
    assert res.status_code == 200
    assert (res.json()["status"], res.json()["messages"]) == ("cancelled", len(want))
    res = await api.get(f"/download/{as_json}")
    assert res.status_code == 200
    assert_file("json", res.content, want)  # closed cleanly: a whole JSON array
    assert (await status(api, jsonl))["status"] == "running"  # the other job goes on
    again = await api.delete(f"/download/{as_json}")
    assert again.json()["status"] == "cancelled"


async def test_ten_jobs_run_at_once_the_eleventh_waits_its_turn(
    make_api: MakeApi, twitch_irc_server: TwitchIrcServer
) -> None:
    api = await make_api()
    channels = [f"capturetest{i}" for i in range(11)]
    ids = [await start(api, url=f"https://www.twitch.tv/{c}", format="jsonl") for c in channels]
    await twitch_irc_server.wait_joined(channels[:10], timeout_s=TIMEOUT)
    await asyncio.sleep(0.5)  # time enough for an eleventh to (wrongly) start
    states = [(await status(api, i))["status"] for i in ids]
    assert states == ["running"] * 10 + ["queued"]
    assert channels[10] not in twitch_irc_server.joined_channels()
    res = await api.get(f"/download/{ids[10]}")
    assert res.status_code == 409

    assert (await api.delete(f"/download/{ids[3]}")).json()["status"] == "cancelled"
    await twitch_irc_server.wait_joined([channels[10]], timeout_s=TIMEOUT)
    assert (await wait_for(api, ids[10], lambda s: s["status"] == "running"))["started_at"] is not None
    assert (await api.delete(f"/download/{ids[0]}")).json()["status"] == "cancelled"


async def test_a_queued_job_can_be_cancelled_before_it_runs(
    make_api: MakeApi, twitch_irc_server: TwitchIrcServer
) -> None:
    api = await make_api(capture_max_concurrent=1)
    first = await start(api, url="https://www.twitch.tv/capturetesta", format="csv")
    second = await start(api, url="https://www.twitch.tv/capturetestb", format="csv")
    await twitch_irc_server.wait_joined(["capturetesta"], timeout_s=TIMEOUT)
    res = await api.delete(f"/download/{second}")
    assert (res.json()["status"], res.json()["started_at"], res.json()["messages"]) == ("cancelled", None, 0)
    assert (await api.get(f"/download/{second}")).status_code == 409  # it never wrote a file
    assert (await api.delete(f"/download/{first}")).json()["status"] == "cancelled"
    assert "capturetestb" not in {j.channel for j in twitch_irc_server.joins}


def frame_ends(lines: list[str], lines_per_frame: int) -> set[int]:
    """Message counts at which a live capture's batches can end: the cumulative message count after
    each frame :meth:`TwitchIrcServer.play` sends (the source may merge frames, never split them)."""
    ends, total, frame = set(), 0, [lines[0]]
    for line in lines[1:]:
        if len(frame) == lines_per_frame or channel_param(line) != channel_param(frame[0]):
            total += len(expected(frame))
            ends.add(total)
            frame = []
        frame.append(line)
    return ends | {total + len(expected(frame))}


#: Limits that cut a batch (a frame of live chat, a page of VOD comments): the first message only,
#: and two counts that fall inside a frame and inside a 50-comment page.
MID_BATCH = (1, 137, 301)


async def test_max_messages_that_cut_a_live_batch_is_exact_in_every_format(
    make_api: MakeApi, twitch_irc_server: TwitchIrcServer
) -> None:
    lines = LINES[:1200]
    assert not frame_ends(lines, 20) & set(MID_BATCH)
    formats = ["json", "jsonl", "csv", "txt"]
    api = await make_api(capture_max_concurrent=len(MID_BATCH) * len(formats))
    ids = {
        (n, f): await start(api, url="https://www.twitch.tv/xqcow", format=f, max_messages=n)
        for n in MID_BATCH
        for f in formats
    }
    await connections_on(twitch_irc_server, "xqcow", len(ids))
    play = asyncio.create_task(twitch_irc_server.play(lines, lines_per_frame=20, join_timeout_s=TIMEOUT))
    try:
        for (n, fmt), job_id in ids.items():
            s = await wait_for(api, job_id, ended)
            assert (s["status"], s["stop_reason"], s["messages"]) == ("finished", "max_messages", n)
            res = await api.get(f"/download/{job_id}")
            assert s["bytes"] == len(res.content)
            assert_file(fmt, res.content, expected(lines)[:n])
    finally:
        play.cancel()
        await asyncio.gather(play, return_exceptions=True)


async def test_max_messages_that_cut_a_vod_page_is_exact_in_every_format(
    make_api: MakeApi, twitch_gql_server: TwitchGqlServer
) -> None:
    twitch_gql_server.add_video("1001", "xqcow", XQCOW_ID, LINES)
    assert twitch_gql_server.page_size == 50 and all(n % 50 for n in MID_BATCH)
    privmsgs = sorted((privmsg(x) for x in LINES if " PRIVMSG " in x), key=lambda m: m["timestamp"])
    want = [{**m, "is_action": False} for m in privmsgs]
    api = await make_api()
    formats = ["json", "jsonl", "csv", "txt"]
    ids = {
        (n, f): await start(api, url="https://www.twitch.tv/videos/1001", format=f, max_messages=n)
        for n in MID_BATCH
        for f in formats
    }
    for (n, fmt), job_id in ids.items():
        s = await wait_for(api, job_id, ended)
        assert (s["status"], s["stop_reason"], s["messages"]) == ("finished", "max_messages", n)
        res = await api.get(f"/download/{job_id}")
        assert s["bytes"] == len(res.content)
        assert_file(fmt, res.content, want[:n])


# -- sources that cannot be reached -------------------------------------------------------------


async def test_a_live_job_that_never_connects_fails_and_frees_its_slot(
    make_api: MakeApi, twitch_gql_server: TwitchGqlServer
) -> None:
    """IRC on a closed port: /status shows the failures while the job retries, then the job fails
    after the connect timeout and the job queued behind it runs."""
    port = _free_port()
    twitch_gql_server.add_video("1002", "xqcow", XQCOW_ID, LINES[:100])
    api = await make_api(
        twitch_irc_url=f"ws://127.0.0.1:{port}", capture_connect_timeout_s=3, capture_max_concurrent=1
    )
    live = await start(api, url="https://www.twitch.tv/xqcow", format="json")
    queued = await start(api, url="https://www.twitch.tv/videos/1002", format="jsonl")
    retrying = await wait_for(api, live, lambda s: s["failed_attempts"] >= 1 or ended(s))
    assert retrying["status"] == "running"
    assert retrying["error"] is None
    assert str(port) in retrying["last_error"]  # e.g. "[Errno 111] Connect call failed ('127.0.0.1', …)"
    assert (await status(api, queued))["status"] == "queued"

    s = await wait_for(api, live, ended)
    assert (s["status"], s["stop_reason"], s["messages"]) == ("failed", None, 0)
    assert s["failed_attempts"] >= 2  # the source's backoff starts at 1 s
    assert s["error"] == (
        f"could not reach Twitch IRC at ws://127.0.0.1:{port} within 3 s "
        f"({s['failed_attempts']} failed attempts); the last error: {s['last_error']}"
    )
    assert 3 <= s["elapsed"] < 10
    res = await api.get(f"/download/{live}")
    assert (res.status_code, res.json()) == (200, [])  # the json file was closed properly

    after = await wait_for(api, queued, ended)
    assert (after["status"], after["stop_reason"]) == ("finished", "end")
    assert (after["failed_attempts"], after["last_error"]) == (0, None)


async def test_a_vod_job_whose_gql_endpoint_is_unreachable_fails_with_the_error(make_api: MakeApi) -> None:
    gql_url = f"http://127.0.0.1:{_free_port()}/gql"
    api = await make_api(twitch_gql_url=gql_url, capture_connect_timeout_s=2)
    job_id = await start(api, url="https://www.twitch.tv/videos/1003", format="csv")
    retrying = await wait_for(api, job_id, lambda s: s["failed_attempts"] >= 1 or ended(s))
    assert (retrying["status"], retrying["last_error"]) == ("running", "All connection attempts failed")
    s = await wait_for(api, job_id, ended)
    assert s["status"] == "failed"
    assert s["error"] == (
        f"could not reach Twitch GQL at {gql_url} within 2 s ({s['failed_attempts']} failed attempts); "
        "the last error: All connection attempts failed"
    )
    assert s["failed_attempts"] >= 3  # backoff 0.5 s, 1 s, then the last attempt at the deadline


# -- restart, shutdown, expiry -------------------------------------------------------------------


async def test_shutdown_closes_running_files_and_marks_jobs_failed(
    make_api: MakeApi, twitch_irc_server: TwitchIrcServer
) -> None:
    api = await make_api()
    job_id = await start(api, url="https://www.twitch.tv/xqcow", format="json")
    await connections_on(twitch_irc_server, "xqcow", 1)
    await twitch_irc_server.play(LINES[:300], lines_per_frame=25)
    want = expected(LINES[:300])
    await wait_for(api, job_id, lambda s: s["messages"] == len(want))
    await asyncio.to_thread(api.app.state.captures.stop)  # type: ignore[attr-defined]

    after = await make_api()  # the next process over the same jobs directory
    s = await status(after, job_id)
    assert (s["status"], s["messages"]) == ("failed", len(want))
    assert s["error"] == "the API shut down while this job was running"
    res = await after.get(f"/download/{job_id}")
    assert res.status_code == 200
    assert_file("json", res.content, want)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_job_cut_off_by_a_crash_is_failed_after_restart_with_its_prefix(
    make_api: MakeApi, twitch_irc_server: TwitchIrcServer, tmp_path: Path
) -> None:
    """A real ``streamscope serve`` process runs the job and is SIGKILLed mid-capture."""
    port = _free_port()
    env = {
        **os.environ,
        "STREAMSCOPE_TWITCH_IRC_URL": twitch_irc_server.url,
        "STREAMSCOPE_CLICKHOUSE_URL": f"chdb://{tmp_path / 'warehouse'}",
        "STREAMSCOPE_JOBS_DIR": str(tmp_path / "jobs"),
    }
    log = (tmp_path / "serve.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "streamscope.app.cli",
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as served:
            async with asyncio.timeout(TIMEOUT):
                while True:
                    try:
                        if (await served.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.2)
            res = await served.post(
                "/download", json={"url": "https://www.twitch.tv/xqcow", "format": "jsonl"}
            )
            job_id = res.json()["download_id"]
            await connections_on(twitch_irc_server, "xqcow", 1)
            await twitch_irc_server.play(LINES[:600], lines_per_frame=25)
            want = expected(LINES[:600])
            await wait_for(served, job_id, lambda s: s["messages"] == len(want))
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        log.close()

    api = await make_api()
    s = await status(api, job_id)
    assert s["status"] == "failed"
    assert (
        s["error"]
        == "interrupted: the API stopped while this job was running; the file holds what was captured before"
    )
    assert s["messages"] == len(want)
    res = await api.get(f"/download/{job_id}")
    assert res.status_code == 200
    assert_file("jsonl", res.content, want)
    assert s["bytes"] == len(res.content)


async def test_files_and_metadata_are_deleted_24_hours_after_the_job_ended(
    make_api: MakeApi, twitch_gql_server: TwitchGqlServer, tmp_path: Path
) -> None:
    twitch_gql_server.add_video("1000", "xqcow", XQCOW_ID, LINES[:200])
    api = await make_api()
    manager = api.app.state.captures  # type: ignore[attr-defined]
    clock = [1_700_000_000.0]
    manager.now = lambda: clock[0]
    job_id = await start(api, url="https://www.twitch.tv/videos/1000", format="txt")
    s = await wait_for(api, job_id, ended)
    assert (s["status"], s["stop_reason"]) == ("finished", "end")
    assert s["expires_at"] == "2023-11-15T22:13:20Z"  # ended_at (the fake clock) + 24 h
    files = sorted(p.name for p in (tmp_path / "jobs").iterdir())
    assert files == [f"{job_id}.job.json", f"{job_id}.txt"]

    clock[0] += 24 * 3600 - 1
    assert (await api.get(f"/download/{job_id}")).status_code == 200
    clock[0] += 1
    for res in (await api.get(f"/status/{job_id}"), await api.get(f"/download/{job_id}")):
        assert res.status_code == 404
        assert res.json()["error"]["code"] == "not_found"
    assert list((tmp_path / "jobs").iterdir()) == []


# -- bad requests --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://example.com/xqcow", "format": "json"}, "url"),
        ({"url": "not a url at all", "format": "json"}, "url"),
        ({"url": "https://www.twitch.tv/directory", "format": "json"}, "url"),
        ({"url": "https://www.youtube.com/watch?v=short", "format": "json"}, "url"),
        ({"url": "https://www.twitch.tv/xqcow", "format": "xml"}, "format"),
        ({"url": "https://www.twitch.tv/xqcow", "format": "irc"}, "format"),
        ({"url": "https://www.twitch.tv/xqcow", "format": "json", "timeout": 7201}, "timeout"),
        ({"url": "https://www.twitch.tv/xqcow", "format": "json", "timeout": 0}, "timeout"),
        ({"url": "https://www.twitch.tv/xqcow", "format": "json", "timeout": "soon"}, "timeout"),
        ({"url": "https://www.twitch.tv/xqcow", "format": "json", "max_messages": 0}, "max_messages"),
        ({"format": "json"}, "url"),
    ],
)
async def test_bad_requests_are_400_naming_the_field(
    make_api: MakeApi, body: dict[str, Any], field: str
) -> None:
    api = await make_api()
    res = await api.post("/download", json=body)
    assert res.status_code == 400, res.text
    error = res.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["message"].startswith(f"{field}: ")
    if field == "url" and "url" in body:
        assert "https://www.twitch.tv/videos/ID" in error["message"]  # says what is supported
    assert not (Path(api.app.state.settings.jobs_dir)).exists()  # type: ignore[attr-defined]


async def test_job_urls_never_come_from_the_host_header(make_api: MakeApi) -> None:
    body = {"url": "https://www.twitch.tv/videos/999", "format": "jsonl"}
    spoofed = {"host": "attacker.example"}
    res = await (await make_api()).post("/download", json=body, headers=spoofed)
    job_id = res.json()["download_id"]
    assert (res.json()["status_url"], res.json()["download_url"]) == (
        f"/status/{job_id}",
        f"/download/{job_id}",
    )
    api = await make_api(public_base_url="https://chat.example.org/")
    res = await api.post("/download", json=body, headers=spoofed)
    job_id = res.json()["download_id"]
    assert (res.json()["status_url"], res.json()["download_url"]) == (
        f"https://chat.example.org/status/{job_id}",
        f"https://chat.example.org/download/{job_id}",
    )


async def test_a_url_past_2048_characters_is_a_400_and_stores_nothing(make_api: MakeApi) -> None:
    api = await make_api()
    res = await api.post("/download", json={"url": "https://www.twitch.tv/videos/1?" + "a" * 2048})
    assert res.status_code == 400
    assert res.json()["error"]["message"].startswith("url: ")
    assert "2048" in res.json()["error"]["message"]
    assert not (Path(api.app.state.settings.jobs_dir)).exists()  # type: ignore[attr-defined]


async def test_a_body_past_64_kib_is_a_413_before_it_is_read(make_api: MakeApi) -> None:
    api = await make_api()
    big = {"url": "https://www.twitch.tv/xqcow", "format": "json", "pad": "x" * (64 * 1024)}
    res = await api.post("/download", json=big)  # declared by Content-Length: refused unread
    assert res.status_code == 413
    assert res.json() == {
        "error": {"code": "payload_too_large", "message": "request body: larger than 65536 bytes"}
    }
    assert not (Path(api.app.state.settings.jobs_dir)).exists()  # type: ignore[attr-defined]


async def test_a_chunked_body_is_cut_off_at_64_kib_not_read_to_its_end(make_api: MakeApi) -> None:
    api = await make_api()
    app = api.app  # type: ignore[attr-defined]
    chunk = b"a" * 16 * 1024
    chunks = [b'{"url": "https://www.twitch.tv/videos/1?', *[chunk] * 2000, b'"}']  # 32 MB, chunked
    handed = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal handed
        handed += 1
        return {"type": "http.request", "body": chunks[handed - 1], "more_body": handed < len(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/download",
        "raw_path": b"/download",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"capture.test"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("capture.test", 80),
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert b"".join(m.get("body", b"") for m in sent[1:]).startswith(b'{"error":{"code":"payload_too_large"')
    assert handed <= 6  # 64 KiB and the chunk that crossed it, not 32 MB
    assert not (Path(app.state.settings.jobs_dir)).exists()


async def test_unknown_jobs_are_404(make_api: MakeApi) -> None:
    api = await make_api()
    for res in (
        await api.get("/status/nope"),
        await api.get("/download/nope"),
        await api.delete("/download/nope"),
    ):
        assert res.status_code == 404
        assert res.json() == {
            "error": {"code": "not_found", "message": "no download 'nope' (unknown, or expired after 24 h)"}
        }


async def test_a_deleted_vod_fails_the_job_with_the_reason(make_api: MakeApi) -> None:
    api = await make_api()
    job_id = await start(api, url="https://www.twitch.tv/videos/999", format="jsonl")
    s = await wait_for(api, job_id, ended)
    assert s["status"] == "failed"
    assert s["error"] == "Twitch has no video 999 (deleted, expired or never existed)"
    res = await api.get(f"/download/{job_id}")
    assert (res.status_code, res.content) == (200, b"")


async def test_youtube_without_chat_downloader_fails_the_job_saying_what_to_install(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "chat_downloader", None)  # what `import` sees when it is absent
    api = await make_api()
    job_id = await start(api, url="https://www.youtube.com/watch?v=jfKfPfyJRdk", format="txt")
    s = await wait_for(api, job_id, ended)
    assert (s["status"], s["messages"]) == ("failed", 0)
    assert s["error"] == "YouTube capture needs chat-downloader: pip install 'streamscope[youtube]'"
