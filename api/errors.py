"""The error contract: every error response is ``{"error": {"code": str, "message": str}}``.

Bad input is a 4xx naming the parameter at fault; an unexpected failure is a 500 with code
``internal_error`` (the detail goes to the log, not to the client). FastAPI's own validation
errors (422 by default) are turned into 400 ``invalid_parameter`` with the same shape. The readers'
errors (:mod:`streamscope.query.errors`) keep their code and message: a
:class:`~streamscope.query.errors.NotFound` is a 404, any other
:class:`~streamscope.query.errors.QueryError` a 400.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from streamscope.query.errors import NotFound, QueryError

log = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    503: "unavailable",
}


class ApiError(Exception):
    """Raise anywhere in a request to answer ``status`` with the error shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_parameter(name: str, problem: str) -> ApiError:
    """A 400 ``invalid_parameter`` whose message starts with the parameter name."""
    return ApiError(400, "invalid_parameter", f"{name}: {problem}")


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message)


async def _query_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QueryError)
    return error_response(404 if isinstance(exc, NotFound) else 400, exc.code, exc.message)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        # loc is ("query", "limit") / ("path", "broadcaster_id"); the last element names the field.
        loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body", "header")]
        problems.append(f"{'.'.join(loc) or 'request'}: {err.get('msg', 'invalid value')}")
    return error_response(400, "invalid_parameter", "; ".join(problems) or "invalid request")


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
    return error_response(500, "internal_error", "internal error; the server log has the details")


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the contract's shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(QueryError, _query_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
