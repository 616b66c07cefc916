"""The Responses API on the real stack, driven by the official openai SDK: SmolLM2 on each
real engine (llama.cpp, vLLM, MAX Serve), streamed and not; responses kept in the stack's
PostgreSQL and read back; previous_response_id replaying the first turn into the second's
prompt (the fake engine's record of it); store: false; a function-call round trip with
function_call_output; json_schema text.format held by the engines that can; and two API
keys of a gateway of our own that never see each other's responses."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import openai
import pytest
from jsonschema import Draft202012Validator
from openai.types.responses import Response

from stackctl.api import NativeStack
from tests.integration.conftest import REAL_ENGINE_MODELS
from tests.integration.own_gateway import create_key, gateway_env, own_gateway

pytestmark = pytest.mark.integration

SMOLLM2 = "SmolLM2-135M-Instruct"  # on llama.cpp
NO_STORE = {"Cache-Control": "no-store"}  # from the engine, never the response cache
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        "required": ["city"],
    },
}
CITY = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"],
    "additionalProperties": False,
}


async def _stored_rows(stack: NativeStack, response_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(stack.env("gateway")["INFERSTACK_DATABASE_URL"])
    try:
        return await conn.fetch(
            "SELECT tenant, id, depth, previous_response_id, output_items::text AS output"
            " FROM responses WHERE id = $1",
            response_id,
        )
    finally:
        await conn.close()


def _as_dict(value: Any) -> dict[str, Any]:
    raw: dict[str, Any] = value.to_dict()
    return raw


def _last_prompt(fake_engine: httpx.Client) -> str:
    prompt: str = fake_engine.get("/_last_request").json()["prompt"]
    return prompt


@pytest.mark.parametrize("model", REAL_ENGINE_MODELS)
async def test_smollm2_answers_and_the_answer_is_kept(
    client: openai.OpenAI, native_stack: NativeStack, model: str
) -> None:
    created = client.responses.create(
        model=model,
        input="What is the capital of France?",
        instructions="Answer in one short sentence.",
        max_output_tokens=24,
        temperature=0,
        extra_headers=NO_STORE,
    )
    assert created.status in ("completed", "incomplete")
    assert created.output_text.strip()
    assert created.usage is not None and created.usage.input_tokens > 0
    assert 0 < created.usage.output_tokens <= 24
    retrieved = client.responses.retrieve(created.id)
    assert _as_dict(retrieved) == _as_dict(created)
    [row] = await _stored_rows(native_stack, created.id)
    assert (row["tenant"], row["depth"], row["previous_response_id"]) == ("", 1, None)
    assert created.output_text in json.loads(row["output"])[0]["content"][0]["text"]


@pytest.mark.parametrize("model", REAL_ENGINE_MODELS)
def test_smollm2_streams_the_documented_events(client: openai.OpenAI, model: str) -> None:
    with client.responses.stream(
        model=model,
        input="Name three colours.",
        max_output_tokens=24,
        temperature=0,
        extra_headers=NO_STORE,
    ) as stream:
        events = list(stream)
    types = [event.type for event in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:-1] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ]
    assert types[-1] in ("response.completed", "response.incomplete")
    assert set(types[4:-4]) == {"response.output_text.delta"}
    assert [event.sequence_number for event in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    final = events[-1].response  # type: ignore[union-attr]
    assert text.strip() and final.output_text == text
    assert client.responses.retrieve(final.id).output_text == text


async def test_previous_response_id_replays_the_first_turn(
    client: openai.OpenAI, fake_engine: httpx.Client, native_stack: NativeStack
) -> None:
    marker = uuid.uuid4().hex[:8]
    first = client.responses.create(model="fake-echo", input=f"My code word is {marker}.")
    assert first.output_text == "Hello from the fake engine."
    second = client.responses.create(
        model="fake-echo", input="What is my code word?", previous_response_id=first.id
    )
    prompt = _last_prompt(fake_engine)
    assert prompt == (
        f"<|im_start|>user\nMy code word is {marker}.<|im_end|>\n"
        "<|im_start|>assistant\nHello from the fake engine.<|im_end|>\n"
        "<|im_start|>user\nWhat is my code word?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    [row] = await _stored_rows(native_stack, second.id)
    assert (row["depth"], row["previous_response_id"]) == (2, first.id)
    listed = client.responses.input_items.list(second.id, order="asc")
    assert [item.type for item in listed.data] == ["message", "message", "message"]
    assert [_as_dict(item)["role"] for item in listed.data] == ["user", "assistant", "user"]
    # The real model reads the chain too (llama.cpp): its prompt holds the first turn.
    answer = client.responses.create(
        model=SMOLLM2,
        input="Repeat my code word.",
        previous_response_id=second.id,
        max_output_tokens=16,
        temperature=0,
        extra_headers=NO_STORE,
    )
    assert answer.status in ("completed", "incomplete")
    assert answer.usage is not None and answer.usage.input_tokens > 30  # three turns read


def test_store_false_keeps_nothing(client: openai.OpenAI) -> None:
    response = client.responses.create(model="fake-echo", input="forget me", store=False)
    assert response.to_dict()["store"] is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="fake-echo", input="?", previous_response_id=response.id)


def test_delete(client: openai.OpenAI) -> None:
    response = client.responses.create(model="fake-echo", input="short-lived")
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(response.id)


@pytest.mark.parametrize("stream", [False, True])
def test_a_function_call_round_trip(
    client: openai.OpenAI, fake_engine: httpx.Client, stream: bool
) -> None:
    asked: Response
    if stream:
        with client.responses.stream(
            model="fake-hermes",
            input="Weather in Paris?",
            tools=[WEATHER],  # type: ignore[list-item]
        ) as events:
            deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
            asked = events.get_final_response()
        assert len(deltas) > 1  # the arguments arrive in pieces
    else:
        asked = client.responses.create(
            model="fake-hermes",
            input="Weather in Paris?",
            tools=[WEATHER],  # type: ignore[list-item]
        )
    [call] = asked.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Paris", "unit": "celsius"}
    answered = client.responses.create(
        model="fake-echo",
        previous_response_id=asked.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "18 C, sunny"}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert answered.output_text == "Hello from the fake engine."
    prompt = _last_prompt(fake_engine)
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"' in prompt
    assert "<tool_response>\n18 C, sunny\n</tool_response>" in prompt


@pytest.mark.parametrize("model", [SMOLLM2, f"{SMOLLM2}-vllm"], ids=["llamacpp", "vllm"])
def test_a_json_schema_format_is_held_by_the_engine(client: openai.OpenAI, model: str) -> None:
    response = client.responses.create(
        model=model,
        instructions="You are a helpful assistant. Answer in JSON.",
        input="Which city is the capital of France, and in which country is it?",
        text={"format": {"type": "json_schema", "name": "city", "schema": CITY, "strict": True}},
        max_output_tokens=100,
        temperature=0,
        extra_headers=NO_STORE,
    )
    assert response.status == "completed", response.output_text
    answer = json.loads(response.output_text)
    assert not list(Draft202012Validator(CITY).iter_errors(answer)), answer


def test_a_json_schema_format_is_refused_by_max_serve(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(
            model=f"{SMOLLM2}-max",
            input="JSON please",
            text={"format": {"type": "json_schema", "name": "city", "schema": CITY}},
        )
    assert "max" in raised.value.message


def test_built_in_tools_are_refused_by_name(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model="fake-echo", input="news?", tools=[{"type": "web_search"}])
    assert "'web_search'" in raised.value.message


@pytest.fixture(scope="module")
def two_keys(
    native_stack: NativeStack, fake_engine_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, str]]:
    """A gateway of our own with auth_mode api_key on the stack's PostgreSQL, and two keys."""
    folder: Path = tmp_path_factory.mktemp("responses-keys")
    env = gateway_env(native_stack, fake_engine_url, folder)
    keys = [create_key(env, "--name", f"{name}-{uuid.uuid4().hex[:6]}")[1] for name in "ab"]
    with own_gateway(env, folder / "gateway.log") as url:
        yield url, keys[0], keys[1]


def test_a_tenant_never_sees_anothers_response(two_keys: tuple[str, str, str]) -> None:
    url, key_a, key_b = two_keys
    alice = openai.OpenAI(base_url=f"{url}/v1", api_key=key_a, max_retries=0)
    bob = openai.OpenAI(base_url=f"{url}/v1", api_key=key_b, max_retries=0)
    mine = alice.responses.create(model="fake-echo", input="alice's secret")
    for attempt in (
        lambda: bob.responses.retrieve(mine.id),
        lambda: bob.responses.input_items.list(mine.id),
        lambda: bob.responses.delete(mine.id),
        lambda: bob.responses.create(model="fake-echo", input="?", previous_response_id=mine.id),
    ):
        with pytest.raises(openai.NotFoundError):  # 404, as for an id that never existed
            attempt()
    assert alice.responses.retrieve(mine.id).output_text == "Hello from the fake engine."
    theirs = bob.responses.create(model="fake-echo", input="bob's own")
    chained = alice.responses.create(model="fake-echo", input="more", previous_response_id=mine.id)
    assert chained.previous_response_id == mine.id
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(theirs.id)
    anonymous = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        anonymous.responses.retrieve(mine.id)
