"""The analyst built from Settings: the one place its configuration is read (by the API and the CLI).

The model sees none of this: the endpoint, key and URLs stay in :class:`ModelConfig` and the
warehouse handle; the tools get only a :class:`~streamscope.agent.tools.ToolContext`.
"""

from __future__ import annotations

from streamscope.agent.loop import Analyst, Limits
from streamscope.agent.model import ChatModel, ModelConfig
from streamscope.agent.sql import SqlLimits
from streamscope.agent.tools import ToolContext
from streamscope.settings import Settings
from streamscope.warehouse import connect
from streamscope.warehouse.shared import Warehouse

OPENAI_URL = "https://api.openai.com/v1"


class AgentUnconfigured(RuntimeError):
    """No model is configured (``STREAMSCOPE_OPENAI_MODEL`` is unset)."""


def model_config(settings: Settings) -> ModelConfig:
    """The endpoint of ``settings``, or :class:`AgentUnconfigured`."""
    if not settings.openai_model:
        raise AgentUnconfigured(
            "the AI analyst has no model: set STREAMSCOPE_OPENAI_MODEL (and STREAMSCOPE_OPENAI_BASE_URL "
            "for a local OpenAI-compatible server such as llama.cpp, vLLM or Ollama)"
        )
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    return ModelConfig(
        base_url=settings.openai_base_url or OPENAI_URL,
        model=settings.openai_model,
        api_key=key,
        stream=settings.agent_stream,
    )


def limits(settings: Settings) -> Limits:
    return Limits(
        max_steps=settings.agent_max_steps,
        max_tokens=settings.agent_max_tokens,
        timeout_s=settings.agent_timeout_s,
    )


def agent_warehouse(settings: Settings, default: Warehouse) -> Warehouse:
    """The read-only user's warehouse when ``agent_clickhouse_url`` is set, else ``default``."""
    if not settings.agent_clickhouse_url:
        return default
    return Warehouse(connect(settings.agent_clickhouse_url, settings.clickhouse_database, create=False))


def build(settings: Settings, warehouse: Warehouse) -> Analyst:
    """An analyst over ``warehouse`` (already the agent's, see :func:`agent_warehouse`)."""
    # The client's own database: the app may run over a client it was given (tests, `up`).
    database = str(warehouse.client.database or settings.clickhouse_database)
    context = ToolContext(warehouse, database, limits=SqlLimits(timeout_s=settings.agent_sql_timeout_s))
    return Analyst(ChatModel(model_config(settings)), context, limits(settings))
