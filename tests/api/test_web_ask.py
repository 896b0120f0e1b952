"""The ask view in Chromium: the analyst (POST /v1/agent/ask/stream) against the scripted
OpenAI-compatible server (tests/fixtures/openai_server.py) over the #xqcow recording. The page shows
the steps with their SQL, the answer, the result table, and a uPlot chart of a time series whose
points are the recording's messages per minute, counted here from the raw lines. Without a model
the page says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from streamscope.api import create_app
from streamscope.settings import Settings
from tests.api.conftest import load_lines
from tests.api.web import database, open_tab, served
from tests.data import XQCOW
from tests.fixtures.openai_server import Calls, OpenAIServer, Say, Turn, openai_server
from tests.oracle import split_line

if TYPE_CHECKING:
    from playwright.sync_api import Browser

SQL = (
    "SELECT toStartOfMinute(sent_at) AS minute, count() AS messages FROM chat_messages FINAL "
    "WHERE channel = 'xqcow' GROUP BY minute ORDER BY minute"
)
ANSWER = "Chat peaked in the second minute."


@pytest.fixture(scope="module")
def site(
    warehouse_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, OpenAIServer]]:
    with database(warehouse_url) as client, openai_server() as llm:
        load_lines(client, XQCOW)
        jobs = str(tmp_path_factory.mktemp("jobs"))
        configured = create_app(
            Settings(jobs_dir=jobs, openai_base_url=llm.base_url, openai_model="scripted"), client=client
        )
        bare = create_app(Settings(jobs_dir=jobs, openai_model=None, openai_base_url=None), client=client)
        with served(configured) as base, served(bare) as unconfigured:
            yield base, unconfigured, llm


def per_minute() -> list[tuple[int, int]]:
    counts: dict[int, int] = {}
    for line in XQCOW.read_text(encoding="utf-8").split("\n"):
        if line:
            tags, _, command, _ = split_line(line)
            if command == "PRIVMSG":
                minute = int(tags["tmi-sent-ts"]) // 60_000 * 60_000
                counts[minute] = counts.get(minute, 0) + 1
    return sorted(counts.items())


def test_the_answer_its_steps_sql_table_and_chart(
    browser: Browser, site: tuple[str, str, OpenAIServer]
) -> None:
    from playwright.sync_api import expect

    base, _, llm = site
    script: list[Turn] = [Calls([("run_sql", json.dumps({"sql": SQL}))]), Say(ANSWER)]
    # The same scripted conversation through the plain route: what the page must show.
    llm.play(script)
    body = {"question": "How many messages per minute?", "channel": "xqcow"}
    expected = httpx.post(f"{base}/v1/agent/ask", json=body, timeout=60).json()
    assert expected["answer"] == ANSWER
    llm.play(script)
    want = per_minute()
    with open_tab(browser, f"{base}/#/ask") as tab:
        page = tab.page
        page.get_by_label("Question").fill("How many messages per minute?")
        page.locator("#ask-channel").select_option("xqcow")
        page.get_by_role("button", name="Ask").click()
        expect(page.locator(".answer")).to_have_text(ANSWER, timeout=30_000)
        assert page.locator(".step strong").all_text_contents() == ["run_sql"]
        assert page.locator(".step .sql").all_text_contents() == [s["sql"] for s in expected["steps"]]
        assert page.locator(".answer-sql").all_text_contents() == expected["sql"]
        table: list[list[str]] = page.locator(".answer-table tbody tr").evaluate_all(
            "trs => trs.map(tr => [...tr.children].map(td => td.textContent))"
        )
        assert table == [[r[0], f"{r[1]:,}"] for r in expected["rows"]]
        assert [int(r[1].replace(",", "")) for r in table] == [n for _, n in want]
        data: list[list[Any]] = page.evaluate("() => document.querySelector('.answer-chart').uplot.data")
        assert data == [[m for m, _ in want], [n for _, n in want]]
        tab.screenshot("ask")
        assert tab.axe() == []


def test_without_a_model_the_page_says_so(browser: Browser, site: tuple[str, str, OpenAIServer]) -> None:
    from playwright.sync_api import expect

    _, unconfigured, _ = site
    # The browser logs the 503 response itself; that one console line is expected.
    with open_tab(browser, f"{unconfigured}/#/ask", allowed_errors=["status of 503"]) as tab:
        page = tab.page
        page.get_by_label("Question").fill("Who chats most?")
        page.get_by_role("button", name="Ask").click()
        expect(page.locator(".exchange .status")).to_contain_text("No model is configured", timeout=20_000)
        expect(page.locator(".exchange .status")).to_contain_text("STREAMSCOPE_OPENAI_MODEL")
        assert page.locator(".answer").count() == 0
