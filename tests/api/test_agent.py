"""``POST /v1/agent/ask`` and ``/ask/stream`` through the app, with the scripted OpenAI-compatible
server as the model and the #xqcow recording as the data."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from streamscope.api import create_app
from streamscope.settings import Settings
from tests.data import XQCOW
from tests.fixtures.openai_server import Calls, Fail, OpenAIServer, Say, openai_server

SQL = (
    "SELECT kind, count() AS n FROM chat_events FINAL WHERE kind IN ('timeout', 'ban') "
    "GROUP BY kind ORDER BY kind"
)


@pytest.fixture
def llm() -> Iterator[OpenAIServer]:
    with openai_server() as server:
        yield server


@pytest.fixture
def agent_api(
    warehouse: Client, load: Callable[..., Any], llm: OpenAIServer, tmp_path: Path
) -> Iterator[TestClient]:
    load(warehouse, XQCOW)
    settings = Settings(
        openai_base_url=llm.base_url,
        openai_model="scripted",
        openai_api_key="sk-secret",
        jobs_dir=str(tmp_path),
    )
    with TestClient(create_app(settings, client=warehouse), raise_server_exceptions=False) as client:
        yield client


def _oracle(oracle: Any, xqcow_lines: list[str]) -> list[list[Any]]:
    kinds = [c["kind"] for c in oracle.clearchats(xqcow_lines)]
    return [["ban", kinds.count("ban")], ["timeout", kinds.count("timeout")]]


def _script(llm: OpenAIServer) -> None:
    llm.play(
        [
            Calls([("stream_recap", "{}")]),
            Calls([("run_sql", json.dumps({"sql": SQL}))]),
            lambda body: Say(
                "rows: " + json.dumps(json.loads(body["messages"][-1]["content"])["data"]["rows"])
            ),
        ]
    )


def test_ask(agent_api: TestClient, llm: OpenAIServer, oracle: Any, xqcow_lines: list[str]) -> None:
    _script(llm)
    r = agent_api.post("/v1/agent/ask", json={"question": "How much moderation?", "channel": "xqcow"})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = _oracle(oracle, xqcow_lines)
    assert set(body) == {"answer", "sql", "columns", "rows", "steps"}
    assert body["answer"] == "rows: " + json.dumps(expected)
    assert body["sql"] == [SQL + " LIMIT 500"]
    assert body["columns"] == ["kind", "n"] and body["rows"] == expected
    assert [s["tool"] for s in body["steps"]] == ["stream_recap", "run_sql"]
    assert body["steps"][1] == {
        "tool": "run_sql",
        "arguments": {"sql": SQL},
        "sql": body["sql"][0],
        "rows": 2,
    }
    recap = json.loads(llm.tool_results(1)[0])["data"]
    assert recap["channel"] == "xqcow" and recap["events"]["timeout"] == expected[1][1]
    assert "Channel: xqcow" in llm.requests[0].body["messages"][1]["content"]


def test_ask_stream(agent_api: TestClient, llm: OpenAIServer, oracle: Any, xqcow_lines: list[str]) -> None:
    _script(llm)
    with agent_api.stream("POST", "/v1/agent/ask/stream", json={"question": "How much moderation?"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    events = [
        (
            block.split("\n")[0].removeprefix("event: "),
            json.loads(block.split("\n")[1].removeprefix("data: ")),
        )
        for block in text.strip().split("\n\n")
    ]
    assert [name for name, _ in events] == ["step", "step", "answer"]
    assert events[0][1]["tool"] == "stream_recap"
    assert events[1][1]["sql"].startswith("SELECT kind")
    assert events[2][1]["rows"] == _oracle(oracle, xqcow_lines)


def test_stream_reports_model_failure_as_error_event(agent_api: TestClient, llm: OpenAIServer) -> None:
    llm.play([Fail(401, "invalid api key")])
    with agent_api.stream("POST", "/v1/agent/ask/stream", json={"question": "x"}) as r:
        text = "".join(r.iter_text())
    assert text.startswith("event: error\n")
    error = json.loads(text.split("data: ", 1)[1])
    assert error["error"]["code"] == "model_unavailable" and "invalid api key" in error["error"]["message"]
    assert "sk-secret" not in text


def test_model_failure_is_a_502(agent_api: TestClient, llm: OpenAIServer) -> None:
    llm.play([Fail(400, "model not found")])
    r = agent_api.post("/v1/agent/ask", json={"question": "x"})
    assert r.status_code == 502 and r.json()["error"]["code"] == "model_unavailable"


def test_unconfigured_is_a_503(api: TestClient) -> None:
    for path in ("/v1/agent/ask", "/v1/agent/ask/stream"):
        r = api.post(path, json={"question": "anything"})
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "agent_unconfigured"
        assert "STREAMSCOPE_OPENAI_MODEL" in r.json()["error"]["message"]


def test_bad_body_is_a_400(api: TestClient) -> None:
    r = api.post("/v1/agent/ask", json={"question": ""})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_parameter"
