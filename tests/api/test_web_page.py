"""The web page at ``/``, driven in a real headless Chromium against the API over the real recording.

Needs the ``playwright`` package and a system Chromium (``apt-get install chromium``); browsers are
never downloaded (``playwright install`` is not used). Without them the tests skip, saying so.
Every assertion compares what the page shows with what the API answers for the same query.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import uvicorn
from clickhouse_connect.driver.client import Client

from streamscope.api import create_app
from streamscope.settings import Settings
from tests.data import XQCOW

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGE_SIZE = 200  # what index.html asks for per page

# Per rendered row: who, the message/event text, and the moderation flags shown.
_ROWS_JS = """rows => rows.map(r => ({
  user: r.querySelector('.user')?.textContent ?? null,
  text: r.querySelector('.user ~ span:not(.flag)')?.textContent ?? null,
  flags: [...r.querySelectorAll('.flag')].map(f => f.textContent),
  color: r.querySelector('.user') ? getComputedStyle(r.querySelector('.user')).color : null,
  detail: [...r.children].filter(c => !c.classList.contains('time')).map(c => c.textContent).join(''),
}))"""

Loader = Callable[[Client, "Path | str | Sequence[str]"], dict[str, int]]


def _chromium() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[test]'")
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no system Chromium: apt-get install chromium (playwright browsers are not downloaded)")
    return path


@pytest.fixture
def site(warehouse: Client, load: Loader) -> Iterator[str]:
    """The xqcow recording in this test's warehouse, served by uvicorn on a free local port."""
    load(warehouse, XQCOW)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(), client=warehouse), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def page(site: str) -> Iterator[Page]:
    """A headless Chromium tab on ``/``, after the channel list and the first page have loaded."""
    executable = _chromium()
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 800})
            errors: list[str] = []
            tab.on("pageerror", lambda exc: errors.append(str(exc)))
            tab.goto(f"{site}/")
            expect(tab.locator("#status")).to_contain_text("messages shown", timeout=15_000)
            yield tab
            assert not errors, f"JavaScript errors on the page: {errors}"
        finally:
            browser.close()


def _api(site: str, path: str, **params: str | int) -> dict[str, Any]:
    response = httpx.get(f"{site}{path}", params=params, timeout=30)
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def _rows(page: Page) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = page.locator("#list > .msg").evaluate_all(_ROWS_JS)
    return rows


def _expected(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What each API message should look like on the page."""
    flags = ("deleted", "timed_out", "banned", "cleared")
    return [
        {
            "user": m["user"]["display_name"] or m["user"]["login"],
            "text": m["text"],
            "flags": [f.replace("_", " ") for f in flags if m.get(f)],
        }
        for m in messages
    ]


def _is_whitish(css_color: str) -> bool:
    channels = [int(c) for c in css_color[css_color.index("(") + 1 : css_color.index(")")].split(",")[:3]]
    return min(channels) >= 0xF0


def _shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: r[k] for k in ("user", "text", "flags")} for r in rows]


def test_first_page_lists_the_channel_and_its_messages_and_loads_more(
    page: Page, site: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    options = page.locator("#channel option").all_text_contents()
    assert [o.split(" ")[0] for o in options] == ["#xqcow"]
    assert options[0] == "#xqcow (4933)"

    first = _api(site, "/v1/channels/xqcow/messages", limit=PAGE_SIZE)
    assert len(first["messages"]) == PAGE_SIZE and first["cursor"]
    rows = _rows(page)
    assert _shown(rows) == _expected(first["messages"])
    # Users who picked #FFFFFF exist in this recording; their names must stay visible on white.
    assert any(m["user"]["color"] == "#FFFFFF" for m in first["messages"])
    assert not [r["user"] for r in rows if _is_whitish(r["color"])]
    page.screenshot(path=str(tmp_path / "web_page.png"))

    page.get_by_role("button", name="Load more").click()
    expect(page.locator("#status")).to_contain_text(f"{2 * PAGE_SIZE} messages shown")
    second = _api(site, "/v1/channels/xqcow/messages", limit=PAGE_SIZE, cursor=first["cursor"])
    assert _shown(_rows(page)) == _expected(first["messages"] + second["messages"])


def test_user_filter_shows_only_that_user_with_the_timed_out_flag(page: Page, site: str) -> None:
    from playwright.sync_api import expect

    timed_out = None
    cursor: str | None = None
    while timed_out is None:
        params: dict[str, str | int] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        body = _api(site, "/v1/channels/xqcow/messages", **params)
        timed_out = next((m for m in body["messages"] if m["timed_out"]), None)
        cursor = body["cursor"]
        assert timed_out is not None or cursor, "the recording has timeouts; some message must be marked"
    login = timed_out["user"]["login"]
    expected = _api(site, "/v1/channels/xqcow/messages", limit=PAGE_SIZE, user=login)["messages"]
    assert 0 < len(expected) < PAGE_SIZE  # fewer rows than an unfiltered page: the filter is visible

    page.get_by_label("User").fill(login)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#status")).to_contain_text(f"{len(expected)} messages shown (end)")

    rows = _rows(page)
    assert _shown(rows) == _expected(expected)
    assert {r["user"] for r in rows} == {timed_out["user"]["display_name"] or login}
    flagged = [r for r, m in zip(rows, expected, strict=True) if m["id"] == timed_out["id"]]
    assert flagged and "timed out" in flagged[0]["flags"]


def test_events_view_shows_the_timeouts(page: Page, site: str) -> None:
    from playwright.sync_api import expect

    events = _api(site, "/v1/channels/xqcow/events", limit=PAGE_SIZE)["events"]
    timeouts = [e for e in events if e["kind"] == "timeout"]
    assert timeouts

    page.locator("#view").select_option("events")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#status")).to_contain_text(f"{len(events)} events shown (end)")

    shown = [r["detail"] for r in _rows(page)]
    assert len(shown) == len(events)
    timeout_rows = [text for text in shown if text.startswith("timeout · ")]
    assert timeout_rows == [f"timeout · {e['target']['login']} · {e['duration_s']}s" for e in timeouts]
