"""The web app's stream sessions in Chromium: the list, then one session with its timeline, title/game
segments, moments, and the transcript beside the chat, moved to the same time by a click on either."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from streamscope.api import create_app
from streamscope.settings import Settings
from streamscope.warehouse.rows import STREAM_COLUMNS
from tests.api.conftest import load_lines
from tests.api.web import ENDED, SEGMENTS, TRANSCRIPT, XQCOW_ID, api, database, load_archive, open_tab, served
from tests.data import XQCOW

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

OLDER = ("100", ENDED[1] - 86_400_000, ENDED[1] - 86_400_000 + 5_400_000)  # a day before, no samples


@pytest.fixture(scope="module")
def site(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database(warehouse_url) as client:
        load_archive(client, load_lines, XQCOW)
        client.insert(
            "streams",
            [(XQCOW_ID, "xqcow", OLDER[0], OLDER[1], OLDER[2], "offline", None, 0, 0, 0,
              [(OLDER[1], "yesterday's stream", "1", "Chess")], 1)],
            column_names=STREAM_COLUMNS,
        )  # fmt: skip
        app = create_app(Settings(jobs_dir=str(tmp_path_factory.mktemp("jobs"))), client=client)
        with served(app) as base:
            yield base


def utc(ms: int | None) -> str:
    return "—" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def cells(page: Page, selector: str) -> list[list[str]]:
    found: list[list[str]] = page.locator(selector).evaluate_all(
        "trs => trs.map(tr => [...tr.children].map(c => c.textContent))"
    )
    return found


def test_session_list_is_the_streams_page(browser: Browser, site: str) -> None:
    from playwright.sync_api import expect

    streams = api(site, "/v1/channels/xqcow/streams", limit=20)["streams"]
    assert [s["id"] for s in streams] == [ENDED[0], OLDER[0]]  # newest first
    with open_tab(browser, f"{site}/#/c/xqcow/sessions") as tab:
        expect(tab.page.locator("#sessions-status")).to_have_text("2 sessions (all)", timeout=20_000)
        rows = cells(tab.page, "#sessions tbody tr")

        def peak(s: dict[str, Any]) -> str:
            return "—" if s["peak_viewers"] is None else f"{s['peak_viewers']:,}"

        def title(s: dict[str, Any]) -> str:
            return f"{s['segments'][-1]['title']} ({s['segments'][-1]['game']})"

        assert [[r[0], r[1], r[3], r[5], r[6], r[7]] for r in rows] == [
            [utc(s["started_at"]), utc(s["ended_at"]), peak(s), f"{s['messages']:,}",
             f"{s['unique_chatters']:,}", title(s)]
            for s in streams
        ]  # fmt: skip
        assert rows[0][2] == "9m 00s" and rows[1][2] == "1h 30m"
        tab.screenshot("sessions")
        assert tab.axe() == []
        tab.page.get_by_role("link", name=utc(ENDED[1])).click()
        expect(tab.page.locator("h1")).to_have_text(f"#xqcow session {ENDED[0]}")


def test_one_session_with_transcript_beside_the_chat_in_sync(browser: Browser, site: str) -> None:
    from playwright.sync_api import expect

    session = api(site, f"/v1/channels/xqcow/streams/{ENDED[0]}")
    with open_tab(browser, f"{site}/#/c/xqcow/sessions/{ENDED[0]}") as tab:
        page = tab.page
        expect(page.locator("#messages-status")).to_contain_text("messages", timeout=20_000)
        assert page.locator("#s-peak").text_content() == f"{session['peak_viewers']:,}"
        assert page.locator("#s-messages").text_content() == f"{session['messages']:,}"
        assert page.locator("#s-chatters").text_content() == f"{session['unique_chatters']:,}"
        assert cells(page, "#segments tbody tr") == [
            [utc(g["at"]), g["title"], g["game"]] for g in session["segments"]
        ]
        assert [(g["at"], g["title"]) for g in session["segments"]] == [(a, t) for a, t, _, _ in SEGMENTS]
        moments = api(
            site, "/v1/channels/xqcow/moments", start=utc(ENDED[1]).replace(" ", "T") + "Z",
            end=utc(ENDED[2]).replace(" ", "T") + "Z", limit=100,
        )["moments"]  # fmt: skip
        starts = page.locator("#moments button.moment").evaluate_all(
            "bs => bs.map(b => Number(b.dataset.start))"
        )
        assert starts == [m["start"] for m in moments] and starts

        # A chat line moves the transcript to the segment being said then (none is marked before).
        assert page.locator("#transcript .seg.current").count() == 0
        row = page.locator("#messages > .msg").nth(40)
        ts = int(row.get_attribute("data-ts") or 0)
        row.click()
        holding = (
            next(a for a, b, _ in TRANSCRIPT if a <= ts < b)
            if any(a <= ts < b for a, b, _ in TRANSCRIPT)
            else None
        )
        following = holding if holding is not None else min(a for a, _, _ in TRANSCRIPT if a >= ts)
        expect(page.locator("#transcript .seg.current")).to_have_attribute("data-start", str(following))
        # A transcript line moves the chat to its time.
        seg_start, seg_end, _ = TRANSCRIPT[9]
        page.locator(f"#transcript button[data-start='{seg_start}']").click()
        first = api(
            site, "/v1/channels/xqcow/messages", start=utc(seg_start).replace(" ", "T") + "Z", limit=1
        )
        expect(page.locator("#messages > .msg.current")).to_have_attribute(
            "data-id", first["messages"][0]["id"]
        )
        expect(page.locator("#transcript .seg.current")).to_have_attribute("data-start", str(seg_start))

        tab.screenshot("session")
        assert tab.axe() == []
