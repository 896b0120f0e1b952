"""The OpenAPI document, made to say what the API answers.

FastAPI documents a 422 with its own validation-error schema on every operation that takes input;
this API answers such errors with 400 ``invalid_parameter`` in the error shape
(:mod:`streamscope.api.errors`). :func:`install` rewrites the generated document once: no 422
anywhere, a 400 on every operation with parameters or a body, a 413 on every operation with a body
(:class:`streamscope.api.middleware.BodyLimit`), and every 4xx/5xx response described by
:class:`~streamscope.api.errors.ErrorBody`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from streamscope.api.errors import ErrorBody

__all__ = ["install", "errors_as_served"]

_REF = "#/components/schemas/{model}"
_DEFAULTS = {
    "400": "Bad parameter or body (`invalid_parameter`, `invalid_cursor`, ...), naming it.",
    "413": "Request body too large (`payload_too_large`).",
}
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")


def errors_as_served(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (a generated OpenAPI document) with its error responses as the API sends them."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorBody.model_json_schema(ref_template=_REF)
    components.update(error_schema.pop("$defs", {}))
    components[ErrorBody.__name__] = error_schema
    error_ref = _REF.format(model=ErrorBody.__name__)
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            responses.pop("422", None)
            if operation.get("parameters") or operation.get("requestBody"):
                responses.setdefault("400", {"description": _DEFAULTS["400"]})
            if operation.get("requestBody"):
                responses.setdefault("413", {"description": _DEFAULTS["413"]})
            for status, response in responses.items():
                if status[:1] in ("4", "5"):
                    response["content"] = {"application/json": {"schema": {"$ref": error_ref}}}
    for name in _FASTAPI_ERRORS:
        components.pop(name, None)
    return schema


def install(app: FastAPI) -> None:
    """Serve :func:`errors_as_served` of ``app``'s generated document (built once, on first use)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = errors_as_served(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
