"""The analyst's loop: ask the model, run the tools it calls, feed the results back, until it answers.

Bounded three ways (:class:`Limits`): tool calls (``max_steps``), tokens (prompt + completion as
the endpoint reports them, estimated when it reports none) and wall time (``timeout_s``, also
bounding each model request and each retry wait). When a bound is reached the loop stops and the
answer says which bound stopped it, with what was found so far (steps, SQL, last table). A tool's
failure is not the loop's: it goes back to the model as the tool's result (see
:func:`streamscope.agent.tools.call`). Only the model endpoint failing after its retries ends the
loop with :class:`~streamscope.agent.model.ModelError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from streamscope.agent.domain import DOMAIN_TOOLS
from streamscope.agent.model import ChatModel, ModelTimeout, estimate_tokens, tool_call_message
from streamscope.agent.prompt import SYSTEM, user_message
from streamscope.agent.tools import CORE_TOOLS, Tool, ToolContext, call

#: Every tool, by name (the public contract: see :mod:`streamscope.agent.tools`).
TOOLS: dict[str, Tool] = {t.name: t for t in (*CORE_TOOLS, *DOMAIN_TOOLS)}


@dataclass(frozen=True, slots=True)
class Limits:
    max_steps: int = 10
    max_tokens: int = 60_000
    timeout_s: float = 120.0
    max_answer_tokens: int = 1024


@dataclass
class Step:
    """One tool call: as the API's ``steps`` items (``rows``: how many rows it returned)."""

    tool: str
    arguments: dict[str, Any]
    sql: str | None = None
    error: str | None = None
    rows: int | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"tool": self.tool, "arguments": self.arguments}
        if self.sql is not None:
            body["sql"] = self.sql
        if self.error is not None:
            body["error"] = self.error
        if self.rows is not None:
            body["rows"] = self.rows
        return body


@dataclass
class Answer:
    """The analyst's answer; :meth:`to_json` is the ``POST /v1/agent/ask`` body."""

    answer: str
    sql: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    stopped: str | None = None

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "sql": self.sql,
            "columns": self.columns,
            "rows": self.rows,
            "steps": [s.to_json() for s in self.steps],
        }


class Analyst:
    """Answers questions with ``model`` over the tools' context; one :meth:`ask` per question."""

    def __init__(
        self,
        model: ChatModel,
        context: ToolContext,
        limits: Limits | None = None,
        tools: dict[str, Tool] | None = None,
    ) -> None:
        self.model = model
        self.context = context
        self.limits = limits or Limits()
        self.tools = tools or TOOLS

    def ask(
        self, question: str, channel: str | None = None, on_step: Callable[[Step], None] | None = None
    ) -> Answer:
        """Answer ``question`` (about ``channel`` when given); ``on_step`` sees each tool call as it
        ends. Raises :class:`~streamscope.agent.model.ModelError` when the model is unreachable."""
        deadline = time.monotonic() + self.limits.timeout_s
        ctx = replace(self.context, channel=channel or self.context.channel)
        specs = [t.spec() for t in self.tools.values()]
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": user_message(question, channel)},
        ]
        out = Answer("")
        while True:
            budget = self.limits.max_tokens - out.tokens
            if budget <= 0:
                return _stopped(out, f"the token limit ({self.limits.max_tokens}) was reached")
            try:
                reply = self.model.complete(
                    messages, specs, deadline, min(budget, self.limits.max_answer_tokens)
                )
            except ModelTimeout:
                return _stopped(out, f"the time limit ({self.limits.timeout_s:g} s) was reached")
            out.prompt_tokens += reply.prompt_tokens or estimate_tokens(messages)
            out.completion_tokens += reply.completion_tokens or estimate_tokens(
                [reply.content, [c.arguments for c in reply.tool_calls]]
            )
            if not reply.tool_calls:
                out.answer = (reply.content or "").strip() or "(the model gave no answer)"
                return out
            messages.append(tool_call_message(reply.content, reply.tool_calls))
            for tool_call in reply.tool_calls:
                if len(out.steps) >= self.limits.max_steps:
                    return _stopped(out, f"the step limit ({self.limits.max_steps} tool calls) was reached")
                if time.monotonic() >= deadline:
                    return _stopped(out, f"the time limit ({self.limits.timeout_s:g} s) was reached")
                # A query may not outlive the question's deadline either.
                left = max(1.0, deadline - time.monotonic())
                bounded = replace(ctx, limits=replace(ctx.limits, timeout_s=min(ctx.limits.timeout_s, left)))
                arguments, result = call(self.tools, bounded, tool_call.name, tool_call.arguments)
                step = Step(tool_call.name, arguments, result.sql, result.error)
                if result.rows is not None:
                    step.rows = len(result.rows)
                if result.sql is not None and result.error is None:
                    out.sql.append(result.sql)
                if result.columns is not None and result.rows is not None:
                    out.columns, out.rows = result.columns, result.rows
                out.steps.append(step)
                if on_step is not None:
                    on_step(step)
                messages.append({"role": "tool", "tool_call_id": tool_call.id, "content": result.content})


def _stopped(out: Answer, reason: str) -> Answer:
    out.stopped = reason
    done = f"{len(out.steps)} tool call{'s' if len(out.steps) != 1 else ''}"
    out.answer = f"Stopped before a final answer: {reason} after {done}. The last result is shown below."
    if not out.rows:
        out.answer = f"Stopped before a final answer: {reason} after {done}."
    return out
