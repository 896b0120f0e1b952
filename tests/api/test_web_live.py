"""The live view in Chromium against a running ``streamscope up`` (a real subprocess) that captures from
the loopback Twitch IRC server: a message the server sends appears on the page within seconds, as
text (its HTML markup is never parsed), and the list pauses on scroll and resumes.

The IRC server runs on an event loop of its own thread, so this test stays synchronous for
Playwright's sync API.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest

from tests.api.web import open_tab, wait_until
from tests.data import XQCOW
from tests.fixtures.twitch_irc_server import TwitchIrcServer, load_lines

if TYPE_CHECKING:
    from playwright.sync_api import Browser

T = TypeVar("T")
MARKUP = '<img src=x onerror="window.__pwned=1">live <i>now</i>'


class LoopThread:
    """An asyncio loop on a daemon thread; ``run(coro)`` waits for the result from sync code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="irc-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float = 90) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def live_line(text: str, login: str = "webtester") -> tuple[str, str]:
    mid = str(uuid.uuid4())
    ts = int(time.time() * 1000)
    return (
        f"@badge-info=;badges=;color=#00AA00;display-name=WebTester;emotes=;flags=;id={mid};mod=0;"
        f"room-id=71092938;subscriber=0;tmi-sent-ts={ts};turbo=0;user-id=777001;user-type= "
        f":{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #xqcow :{text}",
        mid,
    )


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, LoopThread, TwitchIrcServer]]:
    """``streamscope up --channel xqcow`` against the loopback IRC server, with the recording's first
    300 lines already captured."""
    loop = LoopThread()

    async def start() -> TwitchIrcServer:
        return await TwitchIrcServer().start()

    irc = loop.run(start())
    tmp = tmp_path_factory.mktemp("up")
    port = free_port()
    env = {
        **os.environ,
        "STREAMSCOPE_TWITCH_IRC_URL": irc.url,
        "STREAMSCOPE_CLICKHOUSE_URL": f"chdb://{tmp / 'warehouse'}",
        "STREAMSCOPE_SINK_FLUSH_INTERVAL_S": "0.2",
        "STREAMSCOPE_JOBS_DIR": str(tmp / "jobs"),
    }
    log = (tmp / "up.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamscope.app.cli", "up", "--channel", "xqcow", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        loop.run(irc.wait_joined(["xqcow"], timeout_s=60))
        loop.run(irc.play(load_lines(XQCOW)[:300], lines_per_frame=50))

        def captured() -> bool:
            try:
                return bool(httpx.get(f"{base}/v1/channels", timeout=5).json()["channels"])
            except (httpx.HTTPError, KeyError):
                return False

        wait_until(captured, 60, "the recording captured")
        yield base, loop, irc
    finally:
        log.close()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        loop.run(irc.stop())
        loop.stop()
        output = (tmp / "up.log").read_text(errors="replace")
        assert proc.returncode == 0, output[-2000:]


def test_a_message_sent_over_irc_appears_live_as_text_and_the_list_pauses(
    browser: Browser, up: tuple[str, LoopThread, TwitchIrcServer], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    base, loop, irc = up
    with open_tab(browser, f"{base}/#/c/xqcow/live") as tab:
        page = tab.page
        expect(page.locator("#live-conn")).to_have_text("live", timeout=20_000)
        expect(page.locator("#live-list > .msg:not(.event)")).to_have_count(50, timeout=20_000)  # the backlog

        line, mid = live_line(MARKUP)
        sent = time.monotonic()
        loop.run(irc.play([line]))
        row = page.locator(f"#live-list > .msg[data-id='{mid}']")
        expect(row).to_have_count(1, timeout=10_000)
        print(f"IRC line to live view: {time.monotonic() - sent:.2f} s")
        assert row.locator(".text").text_content() == MARKUP
        assert row.locator(".user").text_content() == "WebTester"
        assert page.locator("#live-list img, #live-list i").count() == 0
        assert page.evaluate("() => window.__pwned") is None
        expect(page.locator("#live-rate")).to_have_text("1", timeout=10_000)  # the one message of this minute
        tab.screenshot("live")
        assert tab.axe() == []

        # Scrolled up: the list pauses, a new message waits; Resume shows it.
        page.locator("#live-list").evaluate("el => { el.scrollTop = 0; }")
        expect(page.locator("#live-pause")).to_have_attribute("aria-pressed", "true")
        waiting, waiting_id = live_line("a message while paused")
        loop.run(irc.play([waiting]))
        expect(page.locator("#live-pause")).to_have_text("Resume (1 new)", timeout=10_000)
        assert page.locator(f"#live-list > .msg[data-id='{waiting_id}']").count() == 0
        page.locator("#live-pause").click()
        expect(page.locator(f"#live-list > .msg[data-id='{waiting_id}']")).to_have_count(1)
        expect(page.locator("#live-pause")).to_have_attribute("aria-pressed", "false")
        last = page.locator("#live-list > .msg").last
        assert last.get_attribute("data-id") == waiting_id
