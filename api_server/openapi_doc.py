"""The OpenAPI document's wire models: routes read raw bodies (one parse, the front door's
own errors), so FastAPI sees no body model. Each route names its request model here
(`json_body`), its router the error envelope its clients get (`openai_errors`,
`anthropic_errors`), and `install_openapi` adds the named models to the document's
components. The models stay lenient: unknown fields are allowed, as the routes allow them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

_COMPONENTS = "#/components/schemas/"
# Every model a route names (by json_body or a response), for the components section.
_MODELS: dict[str, type[BaseModel]] = {}


class OpenAIError(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorEnvelope(BaseModel):
    """Every error under the OpenAI-style routes (and the gateway's own)."""

    error: OpenAIError


class AnthropicError(BaseModel):
    type: str
    message: str


class AnthropicErrorEnvelope(BaseModel):
    """Every error under /v1/messages (529: the engine is unavailable, Anthropic's busy)."""

    type: str = "error"
    error: AnthropicError


def _named(model: type[BaseModel]) -> str:
    _MODELS[model.__name__] = model
    return _COMPONENTS + model.__name__


def json_body(model: type[BaseModel], *, streams: bool = False) -> dict[str, Any]:
    """`openapi_extra` for a route whose body is `model` as JSON (required); `streams`:
    its 200 is JSON, or server-sent events when the body asks for a stream."""
    extra: dict[str, Any] = {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _named(model)}}},
        }
    }
    if streams:
        extra["responses"] = {
            "200": {
                "description": "The answer as JSON, or as server-sent events with stream on",
                "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "text/event-stream": {"schema": {"type": "string"}},
                },
            }
        }
    return extra


_OPENAI_STATUSES = {
    400: "Invalid request (malformed JSON, a field of the wrong type or range)",
    401: "Missing or invalid credentials",
    403: "The credentials may not use this model",
    404: "Unknown model or route",
    413: "Request body too large",
    415: "The body is not JSON (Content-Type must be application/json)",
    429: "Rate limit, or the model or its engine is overloaded (see Retry-After)",
    500: "Internal error",
    502: "The engine or upstream answered with an error or garbage",
    503: "No engine available, or a backing service needed here is down",
    504: "The engine or upstream did not answer in time",
}
_ANTHROPIC_STATUSES = {
    **{k: v for k, v in _OPENAI_STATUSES.items() if k != 503},
    529: "Overloaded: the engine is unavailable (Anthropic clients retry this)",
}


def _errors(
    model: type[BaseModel], statuses: dict[int, str], only: Iterable[int] | None
) -> dict[int | str, Any]:
    wanted = set(statuses) if only is None else set(only)
    return {
        status: {"model": model, "description": text}
        for status, text in statuses.items()
        if status in wanted
    }


def openai_errors(only: Iterable[int] | None = None) -> dict[int | str, Any]:
    """`responses=` for a router whose errors come in OpenAI's envelope (`only` those
    statuses: a GET route takes no body, so no 413 or 415)."""
    return _errors(OpenAIErrorEnvelope, _OPENAI_STATUSES, only)


def anthropic_errors() -> dict[int | str, Any]:
    """`responses=` for a router whose errors come in Anthropic's envelope."""
    return _errors(AnthropicErrorEnvelope, _ANTHROPIC_STATUSES, None)


def _component_schemas() -> dict[str, Any]:
    """The named models' JSON schemas, their nested models hoisted next to them."""
    schemas: dict[str, Any] = {}
    for name, model in _MODELS.items():
        schema = model.model_json_schema(ref_template=_COMPONENTS + "{model}")
        for nested_name, nested in {**schema.pop("$defs", {}), name: schema}.items():
            if schemas.setdefault(nested_name, nested) != nested:
                raise ValueError(f"two wire models are both named {nested_name}: rename one")
    return schemas


def _drop_fastapi_validation_errors(document: dict[str, Any]) -> None:
    """FastAPI adds a 422 to routes with path or query parameters; ours answer a bad
    parameter with a 400 in the caller's envelope, declared above."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def install_openapi(app: FastAPI) -> None:
    """`/openapi.json` (and /docs) with the request models and error envelopes."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            _drop_fastapi_validation_errors(document)
            components = document.setdefault("components", {}).setdefault("schemas", {})
            components.update(_component_schemas())
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
