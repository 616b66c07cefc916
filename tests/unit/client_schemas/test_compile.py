"""Client schemas: refused when unsafe or invalid, checked with RE2 and no retrieval."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import re2
from referencing.exceptions import NoSuchResource

from api_server.client_schemas import (
    ClientSchema,
    RequestSchemas,
    SchemaLimits,
    compile_client_schema,
)
from api_server.client_schemas.compile import _NO_RETRIEVAL, DEFAULT_LIMITS
from api_server.client_schemas.meter import MAX_STEPS
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
        def first_error(self, instance: Any, budget_s: float = 2.0) -> str | None:
            seen.append(threading.get_ident())
            return original(instance, budget_s)

    spy = Spy(schema.schema, schema._validator)
    assert await spy.check({}) == "at $: 'city' is a required property"
    assert seen and seen[0] != loop_thread
    # A budget already spent: the instance counts as not checkable, whatever the thread does.
    assert await schema.check({}, budget_s=0) == "at $: the value could not be checked within 0 s"


@pytest.mark.parametrize("name", ["default", "enum", "const", "examples"])
def test_a_property_named_like_a_data_keyword_is_still_a_schema(name: str) -> None:
    # Under `properties` the key is a name: its value is a schema, and its pattern is checked.
    assert "is not supported" in refusal({"properties": {name: {"pattern": "(?=a)b"}}})
    assert "cannot be combined" in refusal(
        {
            "$defs": {name: {"patternProperties": {"(a+)+$": {}}, "unevaluatedProperties": False}},
        }
    )
    schema = compiled({"properties": {name: {"type": "string", "pattern": "^a+$"}}})
    assert schema.first_error({name: "aaa"}) is None
    assert schema.first_error({name: "b"}) == f"at $.{name}: 'b' does not match '^a+$'"


def test_a_keyword_used_as_a_property_name_is_no_keyword() -> None:
    # A property called `unevaluatedProperties` next to patternProperties is harmless.
    compiled({"properties": {"unevaluatedProperties": {"type": "string"}}, "patternProperties": {}})


def fan_out(levels: int) -> dict[str, Any]:
    """Each level refers to the next twice: checking one value takes 2**levels steps."""
    defs: dict[str, Any] = {f"l{levels}": {"type": "string"}}
    for level in range(levels):
        defs[f"l{level}"] = {
            "allOf": [{"$ref": f"#/$defs/l{level + 1}"}, {"$ref": f"#/$defs/l{level + 1}"}]
        }
    return {"$defs": defs, "$ref": "#/$defs/l0"}


def test_references_that_fan_out_stop_at_the_step_budget() -> None:
    small = compiled(fan_out(4))
    assert small.first_error("a") is None
    assert small.first_error(1) is not None
    # 2**40 evaluations would take days; the meter stops the thread itself.
    huge = compiled(fan_out(40))
    message = huge.first_error("a")
    assert message == f"at $: checking it took more than {MAX_STEPS} schema steps"


def test_the_thread_stops_itself_at_its_deadline() -> None:
    huge = compiled(fan_out(40))
    assert huge.first_error("a", budget_s=0) == "at $: the value could not be checked within 0 s"


def test_unique_items_is_linear_and_exact() -> None:
    schema = compiled({"type": "array", "uniqueItems": True})
    # Unsortable items (objects) made jsonschema compare every pair: 10**10 comparisons.
    many = [{"n": index} for index in range(100_000)]
    assert schema.first_error(many) is None
    assert schema.first_error([*many, {"n": 5}]) == (
        "at $: [{'n': 0}, {'n': 1}, {'n': 2}, {'n': 3}, {'n': 4}, {'n': 5}, {'n': 6}, {'n': ... "
        "has non-unique elements"
    )
    assert schema.first_error([1, 1.0]) is not None  # JSON Schema: equal numbers
    assert schema.first_error([1, True]) is None  # a boolean is not a number
    assert schema.first_error([0, False, None, "0", [0], {"0": 0}]) is None
    assert schema.first_error([{"a": 1, "b": [2]}, {"b": [2], "a": 1}]) is not None
    assert schema.first_error([[1, [True]], [1, [1]]]) is None


def test_numbers_past_a_float_are_checked_not_crashed() -> None:
    halves = compiled({"multipleOf": 0.5})
    assert halves.first_error(10**400) is None
    assert halves.first_error(10**400 + 1) is None  # an integer is a multiple of a half
    thirds = compiled({"multipleOf": 1.5})
    assert thirds.first_error(10**400 + 1) is not None
    assert compiled({"multipleOf": 3}).first_error(10**400) == (
        "at $: a number is not a multiple of 3"
    )
    assert halves.first_error(float("inf")) is not None
    assert halves.first_error(float("nan")) is not None
    huge = 10**5000  # str() of it raises ValueError: a message must not need it
    assert compiled({"maximum": 1}).first_error(huge) == (
        "at $: the value holds a number too large to check"
    )


def test_pattern_counts_are_bounded() -> None:
    many = {"properties": {f"p{i}": {"pattern": f"^{i}$"} for i in range(33)}}
    assert "more than 32 patterns" in refusal(many)
    long = {"properties": {f"p{i}": {"pattern": "a" * 900 + str(i)} for i in range(10)}}
    assert "longer than 8192 characters together" in refusal(long)
    request = RequestSchemas()
    twenty = {"properties": {f"p{i}": {"pattern": f"^{i}$"} for i in range(20)}}
    for _ in range(6):
        compile_client_schema(twenty, param=PARAM, request=request)
    with pytest.raises(InvalidSchemaError) as info:
        compile_client_schema(twenty, param=PARAM, request=request)
    assert "more than 128 patterns together" in info.value.message
