"""The capture view in Chromium: a job started from the page (a Twitch VOD served by the loopback GQL
server from the #xqcow recording) finishes and its file downloads; a channel export with a format and
a range downloads the same bytes as the export route. Expected contents come from the raw lines
(tests.capture.oracle)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from streamscope.api import create_app
from streamscope.settings import Settings
from tests.api.conftest import load_lines
from tests.api.web import T0, database, open_tab, served
from tests.capture.oracle import privmsg, txt_lines
from tests.data import XQCOW
from tests.fixtures.twitch_gql_server import TwitchGqlServer
from tests.fixtures.twitch_irc_server import load_lines as read_lines

if TYPE_CHECKING:
    from playwright.sync_api import Browser

LINES = read_lines(XQCOW)[:200]


@pytest.fixture(scope="module")
def site(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    gql = TwitchGqlServer().start()
    gql.add_video("1000", "xqcow", "71092938", LINES)
    try:
        with database(warehouse_url) as client:
            load_lines(client, XQCOW)
            settings = Settings(
                jobs_dir=str(tmp_path_factory.mktemp("jobs")),
                twitch_gql_url=gql.url,
                capture_connect_timeout_s=5,
            )
            app = create_app(settings, client=client)
            try:
                with served(app) as base:
                    yield base
            finally:
                app.state.captures.stop()
    finally:
        gql.stop()


def test_a_capture_job_started_on_the_page_finishes_and_downloads(
    browser: Browser, site: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    want = sorted((privmsg(x) for x in LINES if " PRIVMSG " in x), key=lambda m: m["timestamp"])
    with open_tab(browser, f"{site}/#/capture") as tab:
        page = tab.page
        page.get_by_label("Twitch or YouTube URL").fill("https://www.twitch.tv/videos/1000")
        page.get_by_label("Format").first.select_option("txt")
        page.get_by_role("button", name="Start capture").click()
        row = page.locator("#jobs tbody tr").first
        expect(row.locator("td").nth(2)).to_have_text("finished", timeout=30_000)
        job_id = row.get_attribute("data-id")
        assert row.locator("td").nth(3).text_content() == str(len(want))
        with page.expect_download() as info:
            row.get_by_role("link", name="Download").click()
        data = Path(info.value.path()).read_bytes()
        assert data == httpx.get(f"{site}/download/{job_id}", timeout=30).content
        assert data.decode("utf-8").splitlines() == txt_lines(want)
        tab.screenshot("capture")
        assert tab.axe() == []


def test_a_channel_export_with_format_and_range_downloads(browser: Browser, site: str) -> None:
    from playwright.sync_api import expect

    minute = [
        x for x in read_lines(XQCOW) if " PRIVMSG " in x and T0 <= privmsg(x)["timestamp"] < T0 + 60_000
    ]
    with open_tab(browser, f"{site}/#/capture") as tab:
        page = tab.page
        expect(page.locator("#export-channel option")).to_have_count(1, timeout=20_000)
        page.locator("#export-format").select_option("jsonl")
        page.locator("#export-start").fill("2019-09-15T00:00")
        page.locator("#export-end").fill("2019-09-15T00:01")
        page.get_by_label("Include events").uncheck()
        href = page.locator("#export-link").get_attribute("href") or ""
        assert href == (
            "/v1/channels/xqcow/export?format=jsonl&start=2019-09-15T00%3A00%3A00.000Z"
            "&end=2019-09-15T00%3A01%3A00.000Z&events=false"
        )
        with page.expect_download() as info:
            page.get_by_role("link", name="Download export").click()
        data = Path(info.value.path()).read_bytes()
        assert data == httpx.get(f"{site}{href}", timeout=30).content
        assert len(data.decode("utf-8").splitlines()) == len(minute)
