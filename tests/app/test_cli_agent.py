"""``streamscope ask`` and ``streamscope agent eval`` in-process, over a real replay of the demo
recording, with the scripted OpenAI-compatible server as the model."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from streamscope.agent import gold
from streamscope.app.cli import app
from streamscope.warehouse import connect
from tests.data import XQCOW
from tests.fixtures.openai_server import Calls, OpenAIServer, Say, openai_server
from tests.oracle import split_line

Run = Callable[..., Result]


@pytest.fixture(autouse=True)
def _logger_levels() -> Iterator[None]:
    """The CLI quiets the HTTP clients' loggers for the process; in-process runs restore them."""
    names = ("httpx", "httpx2", "openai")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def llm() -> Iterator[OpenAIServer]:
    with openai_server() as server:
        yield server


@pytest.fixture
def cli(warehouse_url: str, llm: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    database = f"cli_{uuid.uuid4().hex[:12]}"
    runner = CliRunner()
    monkeypatch.setenv("STREAMSCOPE_OPENAI_BASE_URL", llm.base_url)
    monkeypatch.setenv("STREAMSCOPE_OPENAI_MODEL", "scripted")

    def run(*args: str) -> Result:
        return runner.invoke(app, [*args, "--clickhouse-url", warehouse_url, "--database", database])

    yield run
    connect(warehouse_url, database).command(f"DROP DATABASE IF EXISTS `{database}`")


def _timeouts_by_target() -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for line in XQCOW.read_text(encoding="utf-8").split("\n"):
        if line:
            tags, _, cmd, params = split_line(line)
            if cmd == "CLEARCHAT" and len(params) > 1 and tags.get("ban-duration"):
                counts[params[1]] = counts.get(params[1], 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]


def test_ask_prints_answer_sql_and_table(cli: Run, llm: OpenAIServer) -> None:
    assert cli("replay", str(XQCOW)).exit_code == 0
    sql = (
        "SELECT target_login, count() AS n FROM chat_events FINAL WHERE kind = 'timeout' "
        "GROUP BY target_login ORDER BY n DESC, target_login LIMIT 3"
    )
    llm.play([Calls([("run_sql", json.dumps({"sql": sql}))]), Say("Those three got most timeouts.")])

    result = cli("ask", "Who was timed out most?", "--channel", "xqcow")

    assert result.exit_code == 0, result.output
    assert "Those three got most timeouts." in result.output
    assert f"SQL {sql}" in result.output
    lines = result.output.splitlines()
    for login, n in _timeouts_by_target():
        assert any(login in line and f" {n} " in line for line in lines), (login, n, result.output)


def test_ask_without_a_model_is_one_clear_error(cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STREAMSCOPE_OPENAI_MODEL")
    result = cli("ask", "anything")
    assert result.exit_code == 2
    assert "STREAMSCOPE_OPENAI_MODEL" in result.output and "Traceback" not in result.output


def test_agent_eval_prints_accuracy_latency_and_tokens(cli: Run, llm: OpenAIServer) -> None:
    questions = gold.load()[:3]
    by_text = {q.question: q for q in questions}

    def answer_with(sql_of: Callable[[gold.GoldQuestion], str]) -> Callable[[dict[str, Any]], Calls]:
        def turn(body: dict[str, Any]) -> Calls:
            q = by_text[body["messages"][1]["content"].split("Question: ", 1)[1]]
            return Calls([("run_sql", json.dumps({"sql": sql_of(q)}))])

        return turn

    right = answer_with(lambda q: q.sql)
    wrong = answer_with(lambda q: "SELECT 42")
    llm.play([right, Say("a"), right, Say("b"), wrong, Say("c")])

    # --load: an empty database gets the demo recording first (the real replay).
    result = cli("agent", "eval", "--limit", "3")

    assert result.exit_code == 0, result.output
    assert "execution accuracy: 2/3 = 66.7%" in result.output
    assert "tokens mean" in result.output and "latency median" in result.output
    for q in questions:
        assert q.id in result.output
