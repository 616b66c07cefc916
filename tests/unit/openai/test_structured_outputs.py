"""Structured outputs (`response_format`): each engine gets the schema in its own field
(llama.cpp `json_schema`, vLLM `structured_outputs`), streamed or not; an engine or a
combination that cannot be held to it is a 400 naming it, never an unconstrained answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from api_server.cache.exact_key import exact_cache_key
from api_server.chat.conversation import Conversation
from api_server.chat.sampling import OutputFormat, SamplingParams
from tests.unit.openai.test_router import WEATHER_TOOL
from tests.unit.scripted_engine import ScriptedEngine
from tests.unit.upstreams.sdk import openai_client

HELLO = [{"role": "user", "content": "Name a city and its population."}]
CITY = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "population": {"type": "integer", "minimum": 0},
    },
    "required": ["city", "population"],
    "additionalProperties": False,
}
AS_CITY = {"type": "json_schema", "json_schema": {"name": "city", "schema": CITY, "strict": True}}
ANSWER = ['{"city": "Paris", ', '"population": 2102650}']


@pytest.mark.parametrize(
    ("model", "field", "expected"),
    [
        ("tiny", "json_schema", CITY),
        ("Llama-3.1-8B-Instruct", "structured_outputs", {"json": CITY}),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_the_engine_is_held_to_the_schema(
    gateway: TestClient,
    engine: ScriptedEngine,
    model: str,
    field: str,
    expected: dict[str, Any],
    stream: bool,
) -> None:
    engine.texts = ANSWER
    sdk = openai_client(gateway)
    if stream:
        chunks = sdk.chat.completions.create(
            model=model, messages=HELLO, response_format=AS_CITY, stream=True
        )  # type: ignore[call-overload]
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        reply = sdk.chat.completions.create(model=model, messages=HELLO, response_format=AS_CITY)  # type: ignore[call-overload]
        text = reply.choices[0].message.content or ""
    assert json.loads(text) == {"city": "Paris", "population": 2102650}
    assert engine.last_request[field] == expected


def test_json_object_asks_for_any_object(gateway: TestClient, engine: ScriptedEngine) -> None:
    engine.texts = ['{"ok": true}']
    body = {"model": "tiny", "messages": HELLO, "response_format": {"type": "json_object"}}
    response = gateway.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    assert engine.last_request["json_schema"] == {"type": "object"}


class City(BaseModel):
    city: str
    population: int


def test_the_sdks_pydantic_parse_helper_works(gateway: TestClient, engine: ScriptedEngine) -> None:
    engine.texts = ANSWER
    parsed = openai_client(gateway).chat.completions.parse(
        model="tiny", messages=HELLO, response_format=City
    )  # type: ignore[arg-type]
    assert parsed.choices[0].message.parsed == City(city="Paris", population=2102650)
    assert engine.last_request["json_schema"]["required"] == ["city", "population"]


def test_an_engine_that_cannot_constrain_is_a_400_naming_it(
    gateway: TestClient, engine: ScriptedEngine
) -> None:
    body = {"model": "on-max", "messages": HELLO, "response_format": AS_CITY}
    for stream in (False, True):
        response = gateway.post("/v1/chat/completions", json={**body, "stream": stream})
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["param"] == "response_format"
        assert "on-max" in error["message"] and "(max)" in error["message"]
    assert engine.requests == []  # never sent unconstrained


def test_tools_beside_a_schema_are_a_400_unless_tool_choice_settles_it(
    gateway: TestClient, engine: ScriptedEngine
) -> None:
    body = {"model": "tiny", "messages": HELLO, "response_format": AS_CITY, "tools": [WEATHER_TOOL]}
    response = gateway.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert "tool_choice" in response.json()["error"]["message"]
    engine.texts = ANSWER
    response = gateway.post("/v1/chat/completions", json={**body, "tool_choice": "none"})
    assert response.status_code == 200, response.text
    assert engine.last_request["json_schema"] == CITY


def test_the_schema_keys_the_cache() -> None:
    """Two requests alike but for their output format never share a cached answer."""
    conversation = Conversation(messages=())
    formats = (None, OutputFormat(), OutputFormat(schema=CITY), OutputFormat(schema={}))
    keys = {
        exact_cache_key("m", conversation, SamplingParams(max_tokens=8, output_format=fmt))
        for fmt in formats
    }
    assert len(keys) == len(formats)


def test_a_schema_llamacpp_would_not_enforce_is_a_400_naming_the_places(
    gateway: TestClient, engine: ScriptedEngine
) -> None:
    priced = {
        "type": "object",
        "properties": {"price": {"type": "number", "minimum": 0, "maximum": 100}},
        "required": ["price"],
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "p", "schema": priced}}
    body = {"model": "tiny", "messages": HELLO, "response_format": response_format}
    response = gateway.post("/v1/chat/completions", json=body)
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert "(llamacpp)" in message and "schema.properties.price.minimum" in message
    assert engine.requests == []
    engine.texts = ['{"price": 5}']
    on_vllm = gateway.post("/v1/chat/completions", json={**body, "model": "Llama-3.1-8B-Instruct"})
    assert on_vllm.status_code == 200, on_vllm.text
