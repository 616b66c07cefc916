"""/openapi.json publishes every route's wire models: a JSON request body for each POST,
the error envelope each front door answers with, and no admin route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry

# POSTs whose body is not a JSON object: an upload, and actions on a stored resource.
MULTIPART_POSTS = {"/v1/files"}
BODILESS_POSTS = {"/v1/batches/{batch_id}/cancel"}
ENVELOPES = {
    "OpenAIErrorEnvelope": {"error"},
    "AnthropicErrorEnvelope": {"type", "error"},
}


@pytest.fixture
def document(models_file: Path) -> dict[str, Any]:
    settings = Settings(
        models_file=models_file,
        logs_api_enabled=True,
        admin_key="an-admin-key-of-32-characters!!!",  # type: ignore[arg-type]
        database_url="postgresql://u:p@127.0.0.1:9/db",  # type: ignore[arg-type]
    )
    app = create_app(settings, ModelRegistry.from_file(models_file))
    with TestClient(app) as client:
        assert client.get("/docs").status_code == 200
        response = client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema["$ref"]
    assert ref.startswith("#/components/schemas/"), ref
    resolved: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return resolved


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # every $ref resolves, every schema is well formed


def test_every_post_declares_its_json_request_body(document: dict[str, Any]) -> None:
    posts = [(path, op) for method, path, op in _operations(document) if method == "POST"]
    assert {path for path, _ in posts} >= {
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/api/chat",
        "/v1/title",
        "/v1/batches",
        *MULTIPART_POSTS,
        *BODILESS_POSTS,
        "/v1/responses",
    }
    for path, operation in posts:
        body = operation.get("requestBody")
        if path in BODILESS_POSTS:
            assert body is None, path
            continue
        assert body and body["required"] is True, path
        if path in MULTIPART_POSTS:
            upload = body["content"]["multipart/form-data"]["schema"]
            assert {"file", "purpose"} <= set(upload["required"]), path
            continue
        schema = body["content"]["application/json"]["schema"]
        assert schema != {}, path
        model = _resolve(document, schema)
        assert model["type"] == "object" and model["properties"], path
        # Lenient, as the routes are: unknown fields are kept, never refused.
        assert model.get("additionalProperties") is True, path


@pytest.mark.parametrize(
    ("path", "required"),
    [
        ("/v1/chat/completions", {"model", "messages"}),
        ("/v1/completions", {"model", "prompt"}),
        ("/v1/messages", {"model", "messages", "max_tokens"}),
        ("/v1/responses", {"model", "input"}),
    ],
)
def test_request_models_are_the_front_doors_own(
    document: dict[str, Any], path: str, required: set[str]
) -> None:
    schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    assert set(_resolve(document, schema["schema"])["required"]) >= required


def test_every_operation_declares_its_errors_in_its_clients_envelope(
    document: dict[str, Any],
) -> None:
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        assert "422" not in responses, f"{method} {path}: FastAPI's 422, never sent"
        errors = {code: r for code, r in responses.items() if code[0] in "45"}
        assert any(code.startswith("4") for code in errors), f"{method} {path}: no 4xx"
        assert "500" in errors, f"{method} {path}: no 500"
        expected = (
            "AnthropicErrorEnvelope" if path.startswith("/v1/messages") else "OpenAIErrorEnvelope"
        )
        for code, response in errors.items():
            if path == "/health/ready" and code == "503":
                continue  # not ready: the readiness report itself
            schema = response["content"]["application/json"]["schema"]
            assert schema["$ref"].endswith("/" + expected), f"{method} {path} {code}"
            envelope = _resolve(document, schema)
            assert set(envelope["required"]) >= ENVELOPES[expected] - {"type"}


def test_streaming_routes_declare_json_and_server_sent_events(document: dict[str, Any]) -> None:
    streaming = ("/v1/chat/completions", "/v1/completions", "/v1/messages", "/api/chat")
    for path in (*streaming, "/v1/responses"):
        content = document["paths"][path]["post"]["responses"]["200"]["content"]
        assert {"application/json", "text/event-stream"} <= set(content), path


def test_admin_routes_are_not_published(document: dict[str, Any]) -> None:
    assert not [path for path in document["paths"] if path.startswith("/v1/admin")]
    assert not [path for path in document["paths"] if path.startswith("/dashboard")]
