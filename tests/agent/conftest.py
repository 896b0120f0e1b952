"""Agent test fixtures: the #xqcow recording in a per-test warehouse, the scripted OpenAI-compatible
server, and an analyst wired to both."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from clickhouse_connect.driver.client import Client

from streamscope.agent.loop import Analyst, Limits
from streamscope.agent.model import ChatModel, ModelConfig
from streamscope.agent.tools import ToolContext
from streamscope.warehouse.shared import Warehouse
from tests.api.conftest import load_lines
from tests.data import XQCOW
from tests.fixtures.openai_server import OpenAIServer, openai_server


@pytest.fixture
def demo(warehouse: Client) -> Client:
    """This test's database holding the demo recording (#xqcow, 5000 lines)."""
    load_lines(warehouse, XQCOW)
    return warehouse


@pytest.fixture
def llm() -> Iterator[OpenAIServer]:
    with openai_server() as server:
        yield server


@pytest.fixture
def make_analyst(demo: Client, llm: OpenAIServer) -> Callable[..., Analyst]:
    """``make_analyst(limits=..., stream=..., backoff_s=...)``: an analyst over the demo data and the
    scripted server; retry waits are real sleeps (short backoff) so their spacing can be measured."""

    def make(
        limits: Limits | None = None, stream: bool = True, backoff_s: float = 0.05, **config: object
    ) -> Analyst:
        model = ChatModel(
            ModelConfig(
                base_url=llm.base_url,
                model="scripted",
                api_key="sk-test-secret",
                stream=stream,
                backoff_s=backoff_s,
                **config,
            )  # type: ignore[arg-type]
        )
        context = ToolContext(Warehouse(demo), str(demo.database))
        return Analyst(model, context, limits or Limits(timeout_s=30))

    return make
