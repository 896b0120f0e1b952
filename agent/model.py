"""The model client: one chat-completions call at a time, with tools, through the ``openai`` SDK.

Works against any OpenAI-compatible endpoint (OpenAI, llama.cpp's server, vLLM, Ollama): only
``POST {base_url}/chat/completions`` with ``messages``, ``tools`` (``tool_choice: "auto"``),
``max_tokens`` and, when
``stream`` is on, ``stream=true`` with ``stream_options.include_usage`` (server-sent chunks whose
``delta.tool_calls`` carry a call's id and name first and its arguments in pieces, joined here by
``index``).

Retries are ours, not the SDK's (its ``max_retries`` is 0), so that they respect the analyst's
deadline: a 429, a 5xx, a refused or dropped connection (also a stream cut mid-answer), or a
timeout is retried up to
``max_retries`` times, waiting the server's ``Retry-After`` (seconds, or ``retry-after-ms``) when it
gives one, else ``backoff_s * 2**attempt`` (at most ``max_backoff_s``); a wait that would pass the
deadline is not started. Other errors (400, 401, 404) are not retried. Error messages carry the
status and the server's ``error.message``, never the API key or the request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openai


@dataclass(frozen=True)
class ModelConfig:
    """Where the model is and how to call it (built by the app layer from Settings)."""

    base_url: str
    model: str
    api_key: str = field(default="", repr=False)
    stream: bool = True
    temperature: float = 0.0
    request_timeout_s: float = 120.0
    max_retries: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass
class Reply:
    """One assistant turn: text and/or tool calls, and the tokens it cost (0 when not reported)."""

    content: str | None
    tool_calls: list[ToolCall]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    retries: int = 0


class ModelError(RuntimeError):
    """The model could not be reached or refused the request (after the retries)."""


class ModelTimeout(ModelError):
    """The deadline passed before the model answered."""


class StreamCut(ConnectionError):
    """A streamed answer ended before its last chunk (retried like a dropped connection)."""


_RETRIABLE = (openai.RateLimitError, openai.InternalServerError, openai.APIConnectionError)


class ChatModel:
    """Calls one model; :meth:`complete` is thread-safe (the SDK client is)."""

    def __init__(self, config: ModelConfig, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self._sleep = sleep
        # Endpoints without auth (llama.cpp, Ollama) still need some key for the SDK.
        self._client = openai.OpenAI(
            base_url=config.base_url, api_key=config.api_key or "unused", max_retries=0
        )

    def complete(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], deadline: float, max_tokens: int
    ) -> Reply:
        """The model's next turn, retried as the module docstring says, before ``deadline``
        (``time.monotonic()``); :class:`ModelTimeout` past it, :class:`ModelError` on failure."""
        attempt = 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ModelTimeout("the time limit passed while waiting for the model")
            try:
                reply = self._once(
                    messages, tools, min(left, self.config.request_timeout_s), max_tokens, deadline
                )
                reply.retries = attempt
                return reply
            except _RETRIABLE as exc:
                if isinstance(exc, openai.APITimeoutError) and deadline - time.monotonic() <= 0:
                    raise ModelTimeout("the time limit passed while waiting for the model") from None
                if attempt >= self.config.max_retries:
                    raise ModelError(
                        f"the model failed after {attempt + 1} attempts: {_describe(exc)}"
                    ) from None
                wait = self._wait(exc, attempt)
                if time.monotonic() + wait >= deadline:
                    raise ModelTimeout(
                        f"the time limit would pass before the next retry ({_describe(exc)})"
                    ) from None
                self._sleep(wait)
                attempt += 1
            except openai.APIStatusError as exc:
                raise ModelError(f"the model endpoint refused the request: {_describe(exc)}") from None
            except openai.OpenAIError as exc:
                raise ModelError(f"the model's answer could not be read: {type(exc).__name__}") from None
            except Exception as exc:
                # A stream cut mid-answer surfaces as the HTTP layer's own error, not the SDK's.
                if not _transport_error(exc) or attempt >= self.config.max_retries:
                    raise ModelError(f"the model's answer was cut off: {type(exc).__name__}") from None
                wait = self._wait(exc, attempt)
                if time.monotonic() + wait >= deadline:
                    raise ModelTimeout("the time limit would pass before the next retry") from None
                self._sleep(wait)
                attempt += 1

    def _wait(self, exc: Exception, attempt: int) -> float:
        response = getattr(exc, "response", None)
        headers = response.headers if response is not None else {}
        for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
            value = headers.get(name)
            if value is not None:
                try:
                    return min(max(float(value) * scale, 0.0), 60.0)
                except ValueError:
                    pass
        return float(min(self.config.backoff_s * 2**attempt, self.config.max_backoff_s))

    def _once(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        timeout: float,
        max_tokens: int,
        deadline: float,
    ) -> Reply:
        kwargs: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            "max_tokens": max(16, max_tokens),
            "timeout": timeout,
        }
        if tools:
            kwargs["tools"] = tools
            # OpenAI's default when tools are given, but llama-cpp-python's server only shows the
            # model the tools when tool_choice is sent.
            kwargs["tool_choice"] = "auto"
        if not self.config.stream:
            completion = self._client.chat.completions.create(**kwargs)
            choice = completion.choices[0]
            calls = [
                ToolCall(c.id, c.function.name, c.function.arguments or "")
                for c in (choice.message.tool_calls or [])
                if getattr(c, "function", None) is not None
            ]
            usage = completion.usage
            return Reply(
                choice.message.content,
                calls,
                usage.prompt_tokens if usage else 0,
                usage.completion_tokens if usage else 0,
                choice.finish_reason,
            )
        stream = self._client.chat.completions.create(
            **kwargs, stream=True, stream_options={"include_usage": True}
        )
        text: list[str] = []
        parts: dict[int, dict[str, Any]] = {}
        reply = Reply(None, [])
        with stream:
            for chunk in stream:
                if time.monotonic() > deadline:
                    raise ModelTimeout("the time limit passed while the model was answering")
                if chunk.usage is not None:
                    reply.prompt_tokens = chunk.usage.prompt_tokens
                    reply.completion_tokens = chunk.usage.completion_tokens
                for choice in chunk.choices:
                    delta = choice.delta
                    if delta.content:
                        text.append(delta.content)
                    for piece in delta.tool_calls or []:
                        slot = parts.setdefault(piece.index, {"id": "", "name": "", "arguments": []})
                        slot["id"] = piece.id or slot["id"]
                        if piece.function is not None:
                            slot["name"] = piece.function.name or slot["name"]
                            slot["arguments"].append(piece.function.arguments or "")
                    reply.finish_reason = choice.finish_reason or reply.finish_reason
        if reply.finish_reason is None:
            # The stream ended without its last chunk: half an answer must not be acted on.
            raise StreamCut("the stream ended before the answer's finish_reason")
        reply.content = "".join(text) if text else None
        reply.tool_calls = [
            ToolCall(p["id"] or f"call_{i}", p["name"], "".join(p["arguments"]))
            for i, p in sorted(parts.items())
        ]
        return reply


def _transport_error(exc: Exception) -> bool:
    root = type(exc).__module__.split(".")[0]
    return isinstance(exc, OSError) or root in ("httpx", "httpx2", "httpcore", "httpcore2", "h11")


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    body = getattr(exc, "body", None)
    message = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else None
    if message is None and isinstance(exc, openai.APIConnectionError):
        message = "connection failed" if not isinstance(exc, openai.APITimeoutError) else "request timed out"
    text = f"HTTP {status}: " if status else ""
    return (text + str(message or type(exc).__name__))[:300]


def tool_call_message(content: str | None, calls: list[ToolCall]) -> dict[str, Any]:
    """The assistant message that carries ``calls`` back into the conversation."""
    return {
        "role": "assistant",
        "content": content,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in calls
        ],
    }


def estimate_tokens(value: Any) -> int:
    """A rough token count (4 characters a token) for endpoints that report no usage."""
    return len(json.dumps(value, ensure_ascii=False, default=str)) // 4
