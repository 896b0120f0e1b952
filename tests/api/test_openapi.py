"""The OpenAPI document says what the API answers: 400 with the error shape, never FastAPI's 422."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in doc["paths"].items() for method, op in item.items()]


def test_no_operation_documents_422_and_every_input_can_be_a_400_in_the_error_shape(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    with_input = 0
    for method, path, op in _operations(doc):
        responses = op["responses"]
        assert "422" not in responses, (method, path)
        if op.get("parameters") or op.get("requestBody"):
            with_input += 1
            assert "400" in responses, (method, path)
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert response["content"] == {"application/json": {"schema": ERROR_REF}}, (
                    method,
                    path,
                    status,
                )
    assert with_input >= 10
    error = doc["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["error"]
    detail = doc["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message"}


def test_limits_are_documented(api: TestClient) -> None:
    doc = api.get("/openapi.json").json()
    post = doc["paths"]["/download"]["post"]
    assert "413" in post["responses"]
    assert doc["components"]["schemas"]["DownloadRequest"]["properties"]["url"]["maxLength"] == 2048
    assert "429" in doc["paths"]["/v1/channels/{channel}/export"]["get"]["responses"]


def test_a_validation_error_is_answered_as_documented(api: TestClient) -> None:
    r = api.get("/v1.0/abc/chat", params={"start": "2019-09-15T00:00:00Z", "end": "2019-09-16T00:00:00Z"})
    assert r.status_code == 400
    assert set(r.json()) == {"error"} and set(r.json()["error"]) == {"code", "message"}
