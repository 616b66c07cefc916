"""Structured outputs on the real SmolLM2: every schema of the suite (structured_schemas.py,
54 of them) through the gateway to llama.cpp and to vLLM, each answer JSON that validates
against its schema, ended by the model (not cut by max_tokens); streamed answers too; MAX
Serve, which cannot constrain a raw completion, refuses with a 400 naming it."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest
from jsonschema import Draft202012Validator

from tests.integration.real_engines import ENGINES, RealEngine
from tests.integration.structured_schemas import SCHEMAS, Schema

NO_STORE = {"Cache-Control": "no-store"}  # each answer from the engine, not the cache
SYSTEM = {"role": "system", "content": "You are a helpful assistant. Answer in JSON."}
CONSTRAINING = [engine for engine in ENGINES if engine.kind in ("llamacpp", "vllm")]
MAX = next(engine for engine in ENGINES if engine.kind == "max")


def _response_format(name: str, schema: Schema) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def _problem(schema: Schema, text: str, finish_reason: str | None) -> str | None:
    """Why an answer fails the suite, or None."""
    if finish_reason != "stop":
        return f"finish_reason {finish_reason}: {text[:120]!r}"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not JSON ({exc}): {text[:120]!r}"
    error = next(iter(Draft202012Validator(schema).iter_errors(value)), None)
    return None if error is None else f"invalid: {error.message}"


def _ask(client: openai.OpenAI, model: str, entry: tuple[str, str, Schema], **fields: Any) -> Any:
    """The entry's question to `model`, held to its schema, greedy, from the engine."""
    name, question, schema = entry
    request = {
        "temperature": 0,
        "max_tokens": 400,
        "extra_headers": NO_STORE,
        "timeout": 300,
        **fields,
    }
    return client.chat.completions.create(
        model=model,
        messages=[SYSTEM, {"role": "user", "content": question}],
        response_format=_response_format(name, schema),
        **request,
    )


@pytest.mark.parametrize("engine", CONSTRAINING, ids=[e.kind for e in CONSTRAINING])
def test_every_answer_parses_and_validates(client: openai.OpenAI, engine: RealEngine) -> None:
    def ask(entry: tuple[str, str, Schema]) -> tuple[str, str | None]:
        choice = _ask(client, engine.model, entry).choices[0]
        name, _, schema = entry
        return name, _problem(schema, choice.message.content or "", choice.finish_reason)

    with ThreadPoolExecutor(max_workers=8) as pool:  # the engines batch them
        results = list(pool.map(ask, SCHEMAS))
    failures = {name: problem for name, problem in results if problem is not None}
    assert len(results) == len(SCHEMAS) >= 50
    assert failures == {}, f"{len(failures)} of {len(results)} failed"


@pytest.mark.parametrize("engine", CONSTRAINING, ids=[e.kind for e in CONSTRAINING])
def test_streamed_answers_validate_too(client: openai.OpenAI, engine: RealEngine) -> None:
    for name, question, schema in SCHEMAS[::10]:
        stream = _ask(client, engine.model, (name, question, schema), stream=True)
        text, finish_reason = "", None
        for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                finish_reason = chunk.choices[0].finish_reason or finish_reason
        assert _problem(schema, text, finish_reason) is None, name


def test_an_engine_that_cannot_constrain_refuses_naming_itself(client: openai.OpenAI) -> None:
    name, question, schema = SCHEMAS[0]
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model=MAX.model,
            messages=[{"role": "user", "content": question}],
            response_format=_response_format(name, schema),  # type: ignore[arg-type]
        )
    error = refused.value.body
    assert isinstance(error, dict) and error["param"] == "response_format"
    assert MAX.model in error["message"] and "(max)" in error["message"]


# Bounds on numbers that need not be integers: vLLM's grammar holds them, llama.cpp's not.
FRACTIONAL = [
    ("price", "A coffee and its price.", {
        "type": "object",
        "properties": {"item": {"type": "string", "maxLength": 20},
                       "price": {"type": "number", "minimum": 0.5, "maximum": 9.5}},
        "required": ["item", "price"], "additionalProperties": False}),
    ("probability", "How likely is rain tomorrow?", {
        "type": "object",
        "properties": {"p": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}},
        "required": ["p"], "additionalProperties": False}),
]  # fmt: skip


def test_fractional_bounds_hold_on_vllm_and_are_refused_on_llamacpp(
    client: openai.OpenAI,
) -> None:
    vllm, llamacpp = (next(e for e in ENGINES if e.kind == kind) for kind in ("vllm", "llamacpp"))
    for entry in FRACTIONAL:
        choice = _ask(client, vllm.model, entry, max_tokens=200).choices[0]
        schema = entry[2]
        assert _problem(schema, choice.message.content or "", choice.finish_reason) is None
        with pytest.raises(openai.BadRequestError) as refused:
            _ask(client, llamacpp.model, entry)
        assert "bounds hold for integers only" in str(refused.value)
