"""The error contract: every error response is ``{"error": {"code": str, "message": str}}``.

Bad input is a 4xx naming the parameter at fault; an unexpected failure is a 500 with code
``internal_error`` (the detail goes to the log, not to the client;
:class:`streamscope.api.middleware.CatchErrors` answers it). FastAPI's own validation errors (422
by default) are turned into 400 ``invalid_parameter`` with the same shape, and the OpenAPI document
says so (:mod:`streamscope.api.openapi`). The readers'
errors (:mod:`streamscope.query.errors`) keep their code and message: a
:class:`~streamscope.query.errors.NotFound` is a 404, any other
:class:`~streamscope.query.errors.QueryError` a 400.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from streamscope.query.errors import NotFound, QueryError

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "too_many_requests",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable: invalid_parameter, unknown_channel, not_found, ...")
    message: str = Field(description="What is wrong; starts with the parameter's name when one is at fault.")


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


class ApiError(Exception):
    """Raise anywhere in a request to answer ``status`` with the error shape."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def bad_parameter(name: str, problem: str) -> ApiError:
    """A 400 ``invalid_parameter`` whose message starts with the parameter name."""
    return ApiError(400, "invalid_parameter", f"{name}: {problem}")


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def internal_error_response() -> JSONResponse:
    """The 500 of an unexpected failure (its detail is logged, never sent)."""
    return error_response(500, "internal_error", "internal error; the server log has the details")


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers)


async def _query_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QueryError)
    return error_response(404 if isinstance(exc, NotFound) else 400, exc.code, exc.message)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(err) for err in exc.errors()]
    return error_response(400, "invalid_parameter", "; ".join(problems) or "invalid request")


def _problem(err: dict[str, object]) -> str:
    """One validation error as ``name: problem``."""
    loc = err.get("loc")
    loc = tuple(loc) if isinstance(loc, (list, tuple)) else ()
    if err.get("type") == "json_invalid":
        # FastAPI's loc is ("body", <character offset>) and its msg "JSON decode error".
        ctx = err.get("ctx")
        reason = ctx.get("error") if isinstance(ctx, dict) else None
        at = f" at character {loc[1]}" if len(loc) > 1 else ""
        return f"body: not valid JSON ({reason or 'cannot be decoded'}{at})"
    # loc is ("query", "limit") / ("path", "broadcaster_id") / ("body", "url"); the source is dropped
    # unless it is all there is (("body",): the body as a whole is missing or not an object).
    names = [str(p) for p in loc if p not in ("query", "path", "body", "header")]
    name = ".".join(names) or ("body" if loc[:1] == ("body",) else "request")
    return f"{name}: {err.get('msg', 'invalid value')}"


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "internal_error" if exc.status_code >= 500 else "error")
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    response = error_response(exc.status_code, code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return internal_error_response()


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the contract's shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(QueryError, _query_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
