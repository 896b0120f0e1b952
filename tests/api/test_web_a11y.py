"""Every view of the web app in Chromium: keyboard-only navigation, a phone-sized viewport in the dark
theme (no sideways scrolling, axe-core without serious or critical violations, no console errors),
and the theme toggle. Screenshots of each view on the phone go to test-output/screenshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from streamscope.api import create_app
from streamscope.settings import Settings
from tests.api.conftest import load_lines
from tests.api.web import ENDED, PHONE, database, load_archive, open_tab, served
from tests.data import XQCOW

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

VIEWS = {
    "channels": "#/",
    "live": "#/c/xqcow/live",
    "history": "#/c/xqcow/history",
    "sessions": "#/c/xqcow/sessions",
    "session": f"#/c/xqcow/sessions/{ENDED[0]}",
    "capture": "#/capture",
    "ask": "#/ask",
}


@pytest.fixture(scope="module")
def site(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database(warehouse_url) as client:
        load_archive(client, load_lines, XQCOW)
        app = create_app(Settings(jobs_dir=str(tmp_path_factory.mktemp("jobs"))), client=client)
        with served(app) as base:
            yield base


def settle(page: Page, view: str) -> None:
    from playwright.sync_api import expect

    if view == "live":
        expect(page.locator("#live-list > .msg").first).to_be_visible(timeout=20_000)
    else:
        expect(page.locator("main[data-loaded=true]")).to_have_count(1, timeout=20_000)


@pytest.mark.parametrize("view", list(VIEWS))
def test_each_view_on_a_phone_in_the_dark(browser: Browser, site: str, view: str) -> None:
    with open_tab(browser, f"{site}/{VIEWS[view]}", viewport=PHONE, color_scheme="dark") as tab:
        settle(tab.page, view)
        assert tab.page.evaluate("() => getComputedStyle(document.documentElement).colorScheme") == "dark"
        overflow = tab.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{view} scrolls sideways by {overflow}px on a phone"
        tab.screenshot(f"phone_{view}")
        assert tab.axe() == []


def focus_by_tab(page: Page, selector: str, most: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_only_from_the_channels_to_a_moment(browser: Browser, site: str) -> None:
    from playwright.sync_api import expect

    with open_tab(browser, f"{site}/#/") as tab:
        page = tab.page
        settle(page, "channels")
        focus_by_tab(page, "#theme")
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"
        focus_by_tab(page, "#channels a[href='#/c/xqcow/history']")
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text("#xqcow history")
        settle(page, "history")
        focus_by_tab(page, "#filter-user")
        page.keyboard.type("onche")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{site}/#/c/xqcow/history?user=onche")
        expect(page.locator("#messages-status")).to_contain_text("(end)")
        assert set(page.locator("#messages .user").all_text_contents()) == {"Onche"}
        focus_by_tab(page, "#moments button.moment")
        start = page.evaluate("() => document.activeElement.dataset.start")
        page.keyboard.press("Enter")
        expect(page.locator("#moments button.moment[aria-pressed=true]")).to_have_attribute(
            "data-start", start
        )
        assert f"at={start}" in page.url
        # "/" jumps to the search field.
        page.locator("h1").focus()
        page.keyboard.press("/")
        assert page.evaluate("() => document.activeElement.id") == "filter-q"
        # The skip link comes first and moves to the content.
        page.goto(f"{site}/#/capture")
        page.reload()
        settle(page, "capture")
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == "job-url"
