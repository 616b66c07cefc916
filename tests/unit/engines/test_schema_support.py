"""What llama.cpp's constrained decoding would not enforce of a schema, named by place."""

from __future__ import annotations

from typing import Any

import pytest

from api_server.engines.schema_support import unenforced

INT = {"type": "integer", "minimum": 0, "maximum": 9}


@pytest.mark.parametrize(
    ("schema", "gaps"),
    [
        ({"type": "object", "properties": {"n": INT}, "required": ["n"]}, []),
        ({"type": "string", "pattern": "^[a-z]+$", "minLength": 1, "maxLength": 9}, []),
        ({"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 1, "maxItems": 3}, []),
        ({"anyOf": [INT, {"type": "null"}], "description": "an annotation"}, []),
        ({"type": ["integer", "null"], "minimum": 1}, []),
        ({"type": "string", "format": "email"}, []),  # format is an annotation
        ({"type": "number", "minimum": 0}, ["schema.minimum (bounds hold for integers only)"]),
        ({"minimum": 0}, ["schema.minimum (bounds hold for integers only)"]),
        (
            {"type": ["number", "null"], "exclusiveMaximum": 1},
            ["schema.exclusiveMaximum (bounds hold for integers only)"],
        ),
        ({"type": "integer", "multipleOf": 5}, ["schema.multipleOf"]),
        ({"type": "array", "items": INT, "uniqueItems": True}, ["schema.uniqueItems"]),
        ({"type": "object", "maxProperties": 2}, ["schema.maxProperties"]),
        ({"not": {"type": "null"}}, ["schema.not"]),
        ({"type": "string", "pattern": "[a-z]+"}, ["schema.pattern (anchor it with ^ and $)"]),
        (
            {"oneOf": [INT, {"type": "string"}]},
            ["schema.oneOf (read as anyOf: a value may match several)"],
        ),
        (
            {"anyOf": [INT, {"type": "null"}], "required": ["x"]},
            ["schema.required (beside anyOf, only the alternatives count)"],
        ),
        (
            {
                "type": "object",
                "properties": {
                    "price": {"type": "number", "maximum": 100},
                    "tags": {"type": "array", "items": {"type": "string", "pattern": "a"}},
                    "alt": {"anyOf": [{"type": "number", "minimum": 1}, {"type": "null"}]},
                },
                "$defs": {"odd": {"type": "integer", "not": {"multipleOf": 2}}},
            },
            [
                "schema.properties.price.maximum (bounds hold for integers only)",
                "schema.properties.tags.items.pattern (anchor it with ^ and $)",
                "schema.properties.alt.anyOf[0].minimum (bounds hold for integers only)",
                "schema.$defs.odd.not",
            ],
        ),
    ],
)
def test_llamacpp_gaps(schema: dict[str, Any], gaps: list[str]) -> None:
    assert unenforced("llamacpp", schema) == gaps


def test_other_engines_are_taken_at_their_word() -> None:
    assert unenforced("vllm", {"type": "number", "minimum": 0}) == []
