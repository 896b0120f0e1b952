"""The web app's channel history view in Chromium, against the API over the #xqcow recording (with its
session, viewer samples, transcript, stats and moments: tests.api.web.load_archive).

Each assertion compares what the page shows with what the public API answers for the same query:
chart points are read from the uPlot instance, rows from the DOM.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from streamscope.api import create_app
from streamscope.settings import Settings
from tests.api.conftest import load_lines
from tests.api.web import (
    TRANSCRIPT,
    api,
    database,
    load_archive,
    open_tab,
    served,
    wait_until,
)
from tests.data import XQCOW

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

MARKUP = '<img src=x onerror="window.__pwned=1"><b>bold</b> hello'
ATTACKER = "markupfan"
ROWS_JS = """rows => rows.map(r => ({
  id: r.dataset.id,
  user: r.querySelector('.user').textContent,
  text: r.querySelector('.text').textContent,
  flags: [...r.querySelectorAll('.flag')].map(f => f.textContent),
}))"""


def markup_line() -> str:
    """A PRIVMSG whose text is HTML markup, sent during the recording."""
    return (
        "@badge-info=;badges=;color=#FF0000;display-name=MarkupFan;emotes=;flags=;"
        "id=0f0f0f0f-1111-4222-8333-444455556666;mod=0;room-id=71092938;subscriber=0;"
        "tmi-sent-ts=1568505700000;turbo=0;user-id=999001;user-type= "
        f":{ATTACKER}!{ATTACKER}@{ATTACKER}.tmi.twitch.tv PRIVMSG #xqcow :{MARKUP}"
    )


@pytest.fixture(scope="module")
def site(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with database(warehouse_url) as client:
        load_lines(client, [markup_line()])
        load_archive(client, load_lines, XQCOW)
        app = create_app(Settings(jobs_dir=str(tmp_path_factory.mktemp("jobs"))), client=client)
        with served(app) as base:
            yield base


def rows(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.locator("#messages > .msg").evaluate_all(ROWS_JS)
    return found


def shown(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """How the page must show API messages."""
    flags = ("deleted", "timed_out", "banned", "cleared")
    return [
        {
            "id": m["id"],
            "user": m["user"]["display_name"] or m["user"]["login"],
            "text": m["text"],
            "flags": [f.replace("_", " ") for f in flags if m[f]],
        }
        for m in messages
    ]


def archive_range(site: str) -> tuple[int, int]:
    (channel,) = api(site, "/v1/channels")["channels"]
    return channel["first_seen"], channel["last_seen"] + 1


def iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def shows_next_page(page: Page, action: Callable[[], None]) -> None:
    """Run ``action`` and wait until the message list has shown the page it asked for."""
    before = page.locator("#messages").get_attribute("data-loads")
    action()
    wait_until(lambda: page.locator("#messages").get_attribute("data-loads") != before, what="a new page")


def wait_loaded(page: Page) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#messages-status")).to_contain_text("messages", timeout=20_000)
    expect(page.locator("#timeline-status")).to_contain_text("buckets", timeout=20_000)


def test_chart_moments_and_totals_are_the_api_values(browser: Browser, site: str) -> None:
    start, end = archive_range(site)
    lo, hi = start - start % 60_000, -(-end // 60_000) * 60_000
    viewers = api(site, "/v1/channels/xqcow/viewers", start=iso(lo), end=iso(hi), step="1m")["points"]
    series = api(site, "/v1/channels/xqcow/stats", start=iso(lo), end=iso(hi), step="1m")
    stats = series["points"]
    moments = api(site, "/v1/channels/xqcow/moments", start=iso(lo), end=iso(hi), limit=100)["moments"]
    assert viewers and stats and moments  # the archive has all three

    with open_tab(browser, f"{site}/#/c/xqcow/history") as tab:
        wait_loaded(tab.page)
        wait_until(
            lambda: tab.page.evaluate("() => Boolean(document.querySelector('#timeline-chart').uplot)")
        )
        data = tab.page.evaluate("() => document.querySelector('#timeline-chart').uplot.data")
        xs = sorted({p["at"] for p in viewers} | {p["at"] for p in stats})
        by_at_v = {p["at"]: p["avg"] for p in viewers}
        by_at_s = {p["at"]: p["messages"] for p in stats}  # 1-minute buckets: messages per minute
        assert data[0] == xs
        assert data[1] == [by_at_v.get(x) for x in xs]
        assert data[2] == [by_at_s.get(x) for x in xs]

        starts = tab.page.locator("#moments button.moment").evaluate_all(
            "bs => bs.map(b => Number(b.dataset.start))"
        )
        assert starts == [m["start"] for m in moments]

        def total(key: str) -> str:
            return f"{sum(p[key] for p in stats):,}"

        for card, key in [
            ("sum-messages", "messages"),
            ("sum-subs", "subs"),
            ("sum-bits", "bits"),
            ("sum-raids", "raids"),
        ]:
            assert tab.page.locator(f"#{card}").text_content() == total(key)
        top = [(e["name"], e["count"]) for e in series["top_emotes"]]
        assert top  # the recording has emotes
        table = tab.page.locator("#top-emotes tbody tr").evaluate_all(
            "trs => trs.map(tr => [...tr.children].map(td => td.textContent))"
        )
        assert table == [[name, f"{count:,}"] for name, count in top]
        tab.screenshot("history")
        assert tab.axe() == []


def test_message_browser_pages_filters_and_is_linkable(browser: Browser, site: str) -> None:
    from playwright.sync_api import expect

    start, end = archive_range(site)
    first = api(site, "/v1/channels/xqcow/messages", start=iso(start), end=iso(end), limit=100)
    second = api(
        site, "/v1/channels/xqcow/messages", start=iso(start), end=iso(end), limit=100, cursor=first["cursor"]
    )
    with open_tab(browser, f"{site}/#/c/xqcow/history") as tab:
        page = tab.page
        wait_loaded(page)
        assert rows(page) == shown(first["messages"])
        shows_next_page(page, page.get_by_role("button", name="Next page").click)
        assert rows(page) == shown(second["messages"])
        link = page.url
        assert "cursor=" in link

        # A timed-out user, filtered: only their messages, with the mark.
        marked = next(m for m in first["messages"] + second["messages"] if m["timed_out"])
        login = marked["user"]["login"]
        page.get_by_label("User").fill(login)
        shows_next_page(page, page.get_by_role("button", name="Show").click)
        expected = api(
            site, "/v1/channels/xqcow/messages", start=iso(start), end=iso(end), limit=100, user=login
        )
        expect(page.locator("#messages-status")).to_contain_text(
            f"{len(expected['messages'])} messages (end)"
        )
        assert rows(page) == shown(expected["messages"])
        assert "timed out" in next(r for r in rows(page) if r["id"] == marked["id"])["flags"]

        page.get_by_label("User").fill("")
        page.get_by_label("Search").fill("gachibass")
        shows_next_page(page, page.get_by_role("button", name="Show").click)
        found = api(
            site, "/v1/channels/xqcow/messages", start=iso(start), end=iso(end), limit=100, q="gachibass"
        )
        assert rows(page) == shown(found["messages"])

    # The second page's URL, opened afresh, shows that page.
    with open_tab(browser, link) as tab:
        wait_loaded(tab.page)
        assert rows(tab.page) == shown(second["messages"])


def test_chat_markup_is_shown_as_text_never_as_html(browser: Browser, site: str) -> None:
    with open_tab(browser, f"{site}/#/c/xqcow/history?user={ATTACKER}") as tab:
        wait_loaded(tab.page)
        assert rows(tab.page) == [
            {"id": "0f0f0f0f-1111-4222-8333-444455556666", "user": "MarkupFan", "text": MARKUP, "flags": []}
        ]
        assert tab.page.locator("#messages img, #messages b").count() == 0
        assert tab.page.evaluate("() => window.__pwned") is None


def test_clicking_a_moment_moves_chat_and_transcript_to_it(
    browser: Browser, site: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    start, end = archive_range(site)
    lo, hi = start - start % 60_000, -(-end // 60_000) * 60_000
    moments = api(site, "/v1/channels/xqcow/moments", start=iso(lo), end=iso(hi), limit=100)["moments"]
    with open_tab(browser, f"{site}/#/c/xqcow/history") as tab:
        page = tab.page
        wait_loaded(page)
        for index, how in [(2, "button"), (len(moments) - 1, "chart")]:
            moment = moments[index]
            if how == "button":
                page.locator("#moments button.moment").nth(index).click()
            else:  # a click on the moment's span in the chart
                x, y = page.evaluate(
                    """at => { const u = document.querySelector('#timeline-chart').uplot;
                               const r = u.over.getBoundingClientRect();
                               return [r.left + u.valToPos(at, 'x'), r.top + r.height / 2]; }""",
                    (moment["start"] + moment["end"]) // 2,
                )
                page.mouse.click(x, y)
            first = api(
                site, "/v1/channels/xqcow/messages", start=iso(moment["start"]), end=iso(end), limit=1
            )
            expect(page.locator("#messages > .msg.current")).to_have_attribute(
                "data-id", first["messages"][0]["id"]
            )
            assert (
                page.locator("#messages > .msg").first.get_attribute("data-id") == first["messages"][0]["id"]
            )
            holding = next(a for a, b, _ in TRANSCRIPT if a <= moment["start"] < b)
            expect(page.locator("#transcript .seg.current")).to_have_attribute("data-start", str(holding))
            assert f"at={moment['start']}" in page.url
            expect(page.locator(f"#moments button[data-start='{moment['start']}']")).to_have_attribute(
                "aria-pressed", "true"
            )
        tab.screenshot("history_moment")


def test_without_the_analytics_routes_the_view_says_not_available(
    browser: Browser, warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server without /stats, /moments and /transcript (another part of streamscope not deployed):
    the chart shows viewers only, each missing part is one line, and nothing fails."""
    from playwright.sync_api import expect

    import streamscope.api.app as app_module
    from streamscope.api.routes import moments, stats, transcript

    left_out = {id(moments.router), id(stats.router), id(transcript.router)}
    monkeypatch.setattr(app_module, "ROUTERS", tuple(r for r in app_module.ROUTERS if id(r) not in left_out))
    with database(warehouse_url) as client:
        load_archive(client, load_lines, XQCOW)
        app = create_app(Settings(jobs_dir=str(tmp_path / "jobs")), client=client)
        assert not [p for p in app.openapi()["paths"] if p.endswith(("/stats", "/moments", "/transcript"))]
        with served(app) as base, open_tab(browser, f"{base}/#/c/xqcow/history") as tab:
            page = tab.page
            wait_loaded(page)
            expect(page.locator("#stats-missing")).to_contain_text("not available")
            expect(page.locator("#moments-missing")).to_contain_text("not available")
            expect(page.locator("#summary-missing")).to_contain_text("not available")
            expect(page.locator("#transcript-missing")).to_contain_text("not available")
            data = page.evaluate("() => document.querySelector('#timeline-chart').uplot.data")
            start, end = archive_range(base)
            lo, hi = start - start % 60_000, -(-end // 60_000) * 60_000
            viewers = api(base, "/v1/channels/xqcow/viewers", start=iso(lo), end=iso(hi), step="1m")["points"]
            assert data == [[p["at"] for p in viewers], [p["avg"] for p in viewers]]
            assert len(rows(page)) == 100
