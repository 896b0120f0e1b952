"""ASGI middleware of the app: request body limit, and unexpected errors answered without a crash.

Both are plain ASGI wrappers (not ``BaseHTTPMiddleware``), so streamed responses pass through
untouched. :func:`streamscope.api.app.create_app` stacks them outermost first:
:class:`CatchErrors`, then the request metrics, then :class:`BodyLimit`.
"""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from streamscope.api.errors import error_response, internal_error_response

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
"""Largest request body accepted (``POST /download`` needs well under 3 KiB)."""


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a request body is past the limit; the app's HTTP error handler
    answers it (FastAPI re-raises an ``HTTPException`` met while reading a body)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body: larger than {limit} bytes")


class BodyLimit:
    """Answer 413 (error shape) to a request body larger than ``max_bytes``, without reading it all.

    A declared ``Content-Length`` over the limit is refused before the app runs. Otherwise (chunked
    bodies, or a length that lies) the bytes are counted as the app receives them, and the chunk
    that crosses the limit raises :class:`BodyTooLarge` instead of being handed on.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_bytes:
            too_large = BodyTooLarge(self.max_bytes)
            await error_response(413, "payload_too_large", too_large.detail)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)


class CatchErrors:
    """Answer an exception nothing else handled with the JSON 500 (code ``internal_error``), and
    keep the connection.

    Starlette's outermost error middleware sends its 500 and then re-raises for the server to log,
    and uvicorn closes a keep-alive connection whose app raised. Here the error is logged and
    answered, and the app returns normally. An exception after the response started (a streamed
    export failing half-way) is re-raised: the connection must then be cut, so that the client sees
    a truncated body rather than a complete-looking one.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            if started:
                raise
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc)
            await internal_error_response()(scope, receive, send)
