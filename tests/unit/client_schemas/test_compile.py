"""Client schemas: refused when unsafe or invalid, checked with RE2 and no retrieval."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import re2
from referencing.exceptions import NoSuchResource

from api_server.client_schemas import ClientSchema, SchemaLimits, compile_client_schema
from api_server.client_schemas.compile import _NO_RETRIEVAL, DEFAULT_LIMITS
from api_server.client_schemas.regex import compile_pattern
from api_server.errors import InvalidSchemaError
from tests.recording_server import RecordingServer

PARAM = "tools[0].function.parameters"


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with RecordingServer() as running:
        yield running


def compiled(schema: dict[str, Any], limits: SchemaLimits = DEFAULT_LIMITS) -> ClientSchema:
    return compile_client_schema(schema, param=PARAM, limits=limits)


def refusal(schema: Any, limits: SchemaLimits = DEFAULT_LIMITS) -> str:
    with pytest.raises(InvalidSchemaError) as info:
        compile_client_schema(schema, param=PARAM, limits=limits)
    assert (info.value.status_code, info.value.code) == (400, "invalid_schema")
    assert info.value.param == PARAM
    assert PARAM in info.value.message
    return info.value.message


def test_a_remote_ref_is_refused_and_never_fetched(server: RecordingServer) -> None:
    for schema in (
        {"$ref": server.url},
        {"type": "object", "properties": {"a": {"$ref": server.url}}},
        {"$defs": {"a": {"$ref": server.url}}, "$ref": "#/$defs/a"},
        {"$id": server.url.removesuffix("schema.json"), "$ref": "schema.json"},
    ):
        assert "points outside the schema" in refusal(schema)
    # Had a reference slipped by, the validators' registry refuses to retrieve it.
    with pytest.raises(NoSuchResource):
        _NO_RETRIEVAL.get_or_retrieve(server.url)
    assert server.hits == []


def test_a_file_ref_is_refused(tmp_path: Path) -> None:
    # Reading it would make this schema reject every `a`; it is refused before that.
    target = tmp_path / "schema.json"
    target.write_text('{"not": {}}')
    message = refusal({"properties": {"a": {"$ref": target.as_uri()}}})
    assert "points outside the schema" in message
    with pytest.raises(NoSuchResource):
        _NO_RETRIEVAL.get_or_retrieve(target.as_uri())


def test_refs_into_the_document_keep_working() -> None:
    schema = compiled(
        {
            "$defs": {"city": {"type": "string"}, "tagged": {"$anchor": "day", "type": "integer"}},
            "type": "object",
            "properties": {"city": {"$ref": "#/$defs/city"}, "day": {"$ref": "#day"}},
        }
    )
    assert schema.first_error({"city": "Paris", "day": 2}) is None
    assert schema.first_error({"city": 3}) == "at $.city: 3 is not of type 'string'"
    assert schema.first_error({"day": "x"}) == "at $.day: 'x' is not of type 'integer'"
    draft7 = compiled(
        {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "definitions": {"n": {"type": "integer"}},
            "properties": {"n": {"$ref": "#/definitions/n"}},
        }
    )
    assert draft7.first_error({"n": "1"}) == "at $.n: '1' is not of type 'integer'"


def test_data_that_looks_like_a_ref_is_data(server: RecordingServer) -> None:
    schema = compiled({"enum": [{"$ref": server.url}], "default": {"$ref": server.url}})
    assert schema.first_error({"$ref": server.url}) is None
    assert server.hits == []


def test_patterns_run_on_re2() -> None:
    assert type(compile_pattern("^(a+)+$")).__module__ == re2.__name__
    schema = compiled(
        {
            "type": "object",
            "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}},
            "patternProperties": {"^(x+)+$": {"type": "integer"}},
            "additionalProperties": False,
        }
    )
    # With Python's `re` each of these would backtrack for hours: the test would hang.
    evil = "a" * 50 + "!"
    assert schema.first_error({"s": evil}) == f"at $.s: {evil!r} does not match '^(a+)+$'"
    assert schema.first_error({"x" * 50 + "!": 1}) is not None  # neither pattern nor property
    assert schema.first_error({"s": "aaa", "xxx": 1}) is None
    assert schema.first_error({"xxx": "one"}) == "at $.xxx: 'one' is not of type 'integer'"


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        ({"properties": {"s": {"pattern": "(?=a)b"}}}, "pattern '(?=a)b' is not supported"),
        ({"patternProperties": {"(a)\\1": {}}}, "is not supported"),
        ({"properties": {"s": {"pattern": "a{1001}"}}}, "is not supported"),
        ({"properties": {"s": {"pattern": "a" * 1001}}}, "longer than 1000 characters"),
        ({"type": "object", "properties": {"x": {"type": 7}}}, "not a valid JSON Schema"),
        ({"type": "nope"}, "not a valid JSON Schema"),
        ({"$schema": "http://example.com/my-draft"}, "not a JSON Schema draft"),
        ({"$schema": "http://json-schema.org/draft-03/schema#"}, "not a JSON Schema draft"),
        ({"properties": {"a": {"$ref": "#/$defs/missing"}}}, "does not resolve"),
        (
            {"$defs": {"a": {"$id": "https://x.example/a", "$ref": "#"}}},
            "only at the schema's root",
        ),
        (
            {"patternProperties": {"^a": {}}, "unevaluatedProperties": False},
            "cannot be combined",
        ),
        (["not", "an", "object"], "must be a JSON object"),
    ],
    ids=[
        "lookahead",
        "backreference",
        "huge-repetition",
        "long-pattern",
        "bad-type-value",
        "unknown-type",
        "unknown-draft",
        "draft-3",
        "unresolvable-local-ref",
        "nested-id",
        "unevaluated-with-patterns",
        "not-an-object",
    ],
)
def test_refused_schemas(schema: Any, reason: str) -> None:
    assert reason in refusal(schema)


def nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth - 1):
        schema = {"items": schema}
    return schema


def test_size_limits() -> None:
    limits = SchemaLimits(max_depth=8, max_nodes=50, max_bytes=400)
    compiled(nested(8), limits)
    assert "nested more than 8 levels" in refusal(nested(9), limits)
    assert "nested more than 32 levels" in refusal(nested(10_000))  # no RecursionError
    wide = {"properties": {f"p{i}": {"type": "string"} for i in range(30)}}
    assert "more than 50 keys and items" in refusal(wide, limits)
    big = {"description": "x" * 400}
    assert "larger than 400 bytes" in refusal(big, limits)


async def test_check_runs_off_the_event_loop_within_a_budget() -> None:
    schema = compiled({"type": "object", "required": ["city"]})
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = schema.first_error

    class Spy(ClientSchema):
        def first_error(self, instance: Any) -> str | None:
            seen.append(threading.get_ident())
            return original(instance)

    spy = Spy(schema.schema, schema._validator)
    assert await spy.check({}) == "at $: 'city' is a required property"
    assert seen and seen[0] != loop_thread
    # A budget already spent: the instance counts as not checkable, whatever the thread does.
    assert await schema.check({}, budget_s=0) == "at $: the value could not be checked within 0 s"
