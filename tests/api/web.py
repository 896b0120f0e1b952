"""What the web app's browser tests share: Debian's Chromium through Playwright (one browser per
module), an app served by a real uvicorn (one per module), pages that fail on console errors, an
axe-core check, and screenshots under ``test-output/screenshots``.

Browsers are never downloaded (``playwright install`` is not used): without the ``playwright``
package or a system ``chromium`` the tests skip, saying so. axe-core 4.14.1 is vendored in
``tests/vendor/axe-core`` (MPL-2.0, its LICENSE beside it) and injected into the page under test.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn
from clickhouse_connect.driver.client import Client
from fastapi import FastAPI

from streamscope.warehouse import connect, migrate

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str:
    """The system Chromium, or a skip saying what is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[test]'")
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no system Chromium: apt-get install chromium (playwright browsers are not downloaded)")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module; each test opens its own context (see open_page).

    Not per session: Playwright's sync API keeps an asyncio event loop running in the main thread
    while it is open, so the asyncio tests of later modules (and every ``asyncio.run``) would fail."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def database(warehouse_url: str) -> Iterator[Client]:
    """A migrated database of its own (for a module), dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    client = connect(warehouse_url, name)
    migrate(client)
    try:
        yield client
    finally:
        client.command(f"DROP DATABASE IF EXISTS `{name}`")


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """``app`` on a real uvicorn on a free loopback port; its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


class Tab:
    """A page in a fresh browser context that records console errors and uncaught exceptions."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is now."""
        if not self.page.evaluate("() => Boolean(window.axe)"):
            self.page.add_script_tag(path=str(AXE))
        result: dict[str, Any] = self.page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})"
        )
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]


@contextmanager
def open_tab(
    browser: Browser,
    url: str,
    viewport: dict[str, int] | None = None,
    allowed_errors: Sequence[str] = (),
    color_scheme: str = "light",
) -> Iterator[Tab]:
    """A tab on ``url``; on leaving, the tab must have logged no console error (but ``allowed_errors``
    substrings) and no uncaught exception. Closing the context closes its live streams."""
    context = browser.new_context(
        viewport=viewport or DESKTOP,
        color_scheme=color_scheme,
        accept_downloads=True,  # type: ignore[arg-type]
    )
    try:
        tab = Tab(context.new_page())
        tab.page.goto(url)
        yield tab
        unexpected = [e for e in tab.errors if not any(a in e for a in allowed_errors)]
        assert not unexpected, f"console errors on {url}: {unexpected}"
    finally:
        context.close()


def api(base: str, path: str, **params: Any) -> Any:
    """GET ``path`` of the public API (the oracle of what a view must show)."""
    response = httpx.get(
        f"{base}{path}", params={k: v for k, v in params.items() if v is not None}, timeout=30
    )
    response.raise_for_status()
    return response.json()


def dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def wait_until(predicate: Callable[[], bool], timeout_s: float = 15, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"{what} not met within {timeout_s}s"
        time.sleep(0.05)


def utc_text(ms: int) -> str:
    """How the app shows a time: ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    return dt(ms).strftime("%Y-%m-%d %H:%M:%S")


# --- the archive the views show ----------------------------------------------------------------

XQCOW_ID = 71092938
T0 = 1568505600000  # 2019-09-15T00:00:00Z: the #xqcow recording runs from here for 7.7 minutes
ENDED = ("111", T0 - 60_000, T0 + 480_000)  # a session over the whole recording
SAMPLES = [(T0 + k * 30_000, 1000 + 37 * k - (k % 3) * 90) for k in range(16)]
SEGMENTS = [
    (ENDED[1], "just chatting first", "509658", "Just Chatting"),
    (T0 + 240_000, "then a game", "33214", "Fortnite"),
]


TRANSCRIPT = [
    (T0 + k * 20_000, T0 + k * 20_000 + 15_000, f"segment {k} of the streamer speaking") for k in range(24)
]


def load_archive(client: Client, load: Callable[[Client, Any], dict[str, int]], xqcow: Path) -> None:
    """The #xqcow recording; one ended session over it with title/game segments and viewer samples
    every 30 s (rows of ``viewer_samples`` and ``streams``, as the streams dataflow writes them); a
    transcript segment every 20 s (rows of ``transcript_segments``, as the transcripts dataflow
    writes them); and its chat stats and hype moments computed by ``streamscope stats rebuild``'s
    code, with a short baseline so a 7.7-minute recording has moments."""
    from streamscope.sinks.moments import MomentParams
    from streamscope.sinks.stats_rebuild import rebuild
    from streamscope.warehouse.rows import SAMPLE_COLUMNS, STREAM_COLUMNS, TRANSCRIPT_SEGMENT_COLUMNS

    load(client, xqcow)
    client.insert(
        "viewer_samples",
        [(XQCOW_ID, "xqcow", t, v, ENDED[0], ENDED[1], "509658", "Just Chatting", "t", "en", "helix")
         for t, v in SAMPLES],
        column_names=SAMPLE_COLUMNS,
    )  # fmt: skip
    values = [v for _, v in SAMPLES]
    client.insert(
        "streams",
        [(XQCOW_ID, "xqcow", ENDED[0], ENDED[1], ENDED[2], "offline", ENDED[2], max(values),
          sum(values), len(values), SEGMENTS, 1)],
        column_names=STREAM_COLUMNS,
    )  # fmt: skip
    client.insert(
        "transcript_segments",
        [(XQCOW_ID, "xqcow", a, b, str(uuid.uuid5(uuid.NAMESPACE_URL, f"seg{a}")), text, [], -0.2, 0.01, "en",
          ENDED[0], "test", "tiny.en") for a, b, text in TRANSCRIPT],
        column_names=TRANSCRIPT_SEGMENT_COLUMNS,
    )  # fmt: skip
    params = MomentParams(baseline_windows=6, min_history=3, rate_ratio=1.3, z=1.5, min_messages=5,
                          chatter_ratio=1.0, min_windows=1)  # fmt: skip
    rebuild(client, XQCOW_ID, "xqcow", T0, T0 + 480_000, params=params)
