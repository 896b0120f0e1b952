"""``POST /v1/agent/ask`` and ``/v1/agent/ask/stream``: the AI analyst over HTTP
(:mod:`streamscope.agent`; the README's "AI analyst" has the threat model).

Without a model configured (``STREAMSCOPE_OPENAI_MODEL``) both answer 503 ``agent_unconfigured``.
The analyst is built once per app, on first use, over the app's warehouse (or the read-only user's,
``STREAMSCOPE_AGENT_CLICKHOUSE_URL``). A model endpoint that keeps failing after the retries is a
502 ``model_unavailable`` (on the stream: an ``error`` event).
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from streamscope.api.errors import ApiError

router = APIRouter(prefix="/v1/agent", tags=["agent"])

_LOCK = threading.Lock()
_UNCONFIGURED = {"description": "No model configured (`agent_unconfigured`): set STREAMSCOPE_OPENAI_MODEL."}
_UNAVAILABLE = {"description": "The model endpoint failed after the retries (`model_unavailable`)."}


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=2000, description="The question, in plain language.")
    channel: str | None = Field(
        None, max_length=64, description="Channel login or numeric id the question is about (optional)."
    )


class AgentStep(BaseModel):
    tool: str = Field(description="Tool called: list_tables, describe_table, run_sql or a domain tool.")
    arguments: dict[str, Any] = Field(description="Its arguments as the model sent them.")
    sql: str | None = Field(None, description="The SQL that ran (checked and LIMIT-capped), if any.")
    error: str | None = Field(
        None, description="Why the call failed or was refused (sent back to the model)."
    )
    rows: int | None = Field(None, description="Rows the call returned.")


class AskAnswer(BaseModel):
    answer: str = Field(description="The analyst's answer, or why it stopped (step, token or time limit).")
    sql: list[str] = Field(description="Every query that ran, in order.")
    columns: list[str] = Field(description="Columns of the last table a tool returned.")
    rows: list[list[Any]] = Field(description="Rows of that table (times as ISO 8601 UTC strings).")
    steps: list[AgentStep] = Field(description="Every tool call, in order.")


def _analyst(request: Request) -> Any:
    # The agent extra (openai, sqlglot) is optional: imported only when the analyst is used.
    from streamscope.agent.config import AgentUnconfigured, agent_warehouse, build

    state = request.app.state
    settings = state.settings
    try:
        with _LOCK:
            if getattr(state, "analyst", None) is None:
                state.analyst = build(settings, agent_warehouse(settings, state.warehouse))
            return state.analyst
    except AgentUnconfigured as exc:
        raise ApiError(503, "agent_unconfigured", str(exc)) from None


@router.post(
    "/ask",
    response_model=AskAnswer,
    summary="Ask the AI analyst a question",
    responses={502: _UNAVAILABLE, 503: _UNCONFIGURED},
)
def ask(body: AskRequest, request: Request) -> JSONResponse:
    """Answer a question from the warehouse with a tool-calling model: the answer, the SQL it ran,
    the last table and every step. Bounded in tool calls, tokens and time (the answer says when a
    bound stopped it)."""
    from streamscope.agent.model import ModelError

    analyst = _analyst(request)
    try:
        answer = analyst.ask(body.question, body.channel)
    except ModelError as exc:
        raise ApiError(502, "model_unavailable", str(exc)) from None
    # As built (absent optional step fields stay absent), not re-serialised through the model.
    return JSONResponse(answer.to_json())


def _event(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n".encode()


@router.post(
    "/ask/stream",
    summary="Ask the AI analyst, with its steps streamed",
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "Server-sent events: `step` (one per tool call, as the `steps` items), then "
            '`answer` (the /ask body) or `error` ({"error": {"code", "message"}}).',
        },
        503: _UNCONFIGURED,
    },
)
def ask_stream(body: AskRequest, request: Request) -> StreamingResponse:
    """The same as ``/ask``, as server-sent events while the analyst works."""
    from streamscope.agent.model import ModelError

    analyst = _analyst(request)
    events: queue.Queue[bytes | None] = queue.Queue()

    def work() -> None:
        try:
            answer = analyst.ask(
                body.question, body.channel, on_step=lambda s: events.put(_event("step", s.to_json()))
            )
            events.put(_event("answer", answer.to_json()))
        except ModelError as exc:
            events.put(_event("error", {"error": {"code": "model_unavailable", "message": str(exc)}}))
        except Exception:  # the log has it; the client gets the error shape, never a cut stream
            import logging

            logging.getLogger(__name__).exception("analyst failed")
            events.put(
                _event("error", {"error": {"code": "internal_error", "message": "the analyst failed"}})
            )
        finally:
            events.put(None)

    threading.Thread(target=work, name="analyst", daemon=True).start()

    def stream() -> Iterator[bytes]:
        while (item := events.get()) is not None:
            yield item

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
