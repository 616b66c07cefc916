"""What of a JSON schema an engine's constrained decoding really enforces.

An engine turns a schema into a grammar and silently drops what the grammar cannot say:
llama.cpp (common/json-schema.cpp, json-schema-to-grammar.cpp) bounds integers but not
other numbers, reads `oneOf` as `anyOf`, lets an unanchored or unsupported `pattern` accept
any string, and ignores `not`, conditionals, property counts, `uniqueItems`, `contains` and
`multipleOf`, and every keyword beside an `anyOf`/`oneOf`. A client told its answer follows
the schema must not get one that does not: `unenforced` names each such place, and the
gateway refuses the request (400) rather than return an answer the schema would reject.
Annotations (`title`, `description`, `format`, `examples`, `default`) constrain nothing and
are fine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from api_server.registry import EngineKind

_IGNORED_EVERYWHERE = frozenset(
    {
        "not",
        "if",
        "then",
        "else",
        "dependentRequired",
        "dependentSchemas",
        "dependencies",
        "minProperties",
        "maxProperties",
        "patternProperties",
        "propertyNames",
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
        "unevaluatedProperties",
        "unevaluatedItems",
        "multipleOf",
    }
)
_NUMBER_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
# Keywords that say nothing about which values are valid.
_ANNOTATIONS = frozenset(
    {"title", "description", "format", "examples", "default", "$comment", "deprecated",
     "readOnly", "writeOnly", "$schema", "$id", "$anchor", "$defs", "definitions", "strict"}
)  # fmt: skip
# Keywords holding one subschema, a list of them, or a map of them.
_ONE = ("items", "additionalProperties", "additionalItems")
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
_MAP = ("properties", "$defs", "definitions")


def unenforced(kind: EngineKind, schema: dict[str, Any]) -> list[str]:
    """`path: what` for every part of `schema` that `kind`'s decoding would not enforce."""
    if kind != "llamacpp":
        return []
    return list(_llamacpp_gaps(schema, "schema"))


def _llamacpp_gaps(schema: Any, path: str) -> Iterator[str]:
    if not isinstance(schema, dict):
        return
    for keyword in sorted(_IGNORED_EVERYWHERE & schema.keys()):
        yield f"{path}.{keyword}"
    if _is_number(schema):
        for keyword in _NUMBER_BOUNDS:
            if keyword in schema:
                yield f"{path}.{keyword} (bounds hold for integers only)"
    if "oneOf" in schema:
        yield f"{path}.oneOf (read as anyOf: a value may match several)"
    alternatives = "oneOf" if "oneOf" in schema else "anyOf" if "anyOf" in schema else None
    if alternatives is not None and "$ref" not in schema:
        beside = set(schema) - _ANNOTATIONS - _IGNORED_EVERYWHERE - {"oneOf", "anyOf"}
        for keyword in sorted(beside):
            yield f"{path}.{keyword} (beside {alternatives}, only the alternatives count)"
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and not (pattern.startswith("^") and pattern.endswith("$")):
        yield f"{path}.pattern (anchor it with ^ and $)"
    for keyword in _ONE:
        yield from _llamacpp_gaps(schema.get(keyword), f"{path}.{keyword}")
    for keyword in _MANY:
        members = schema.get(keyword)
        if isinstance(members, list):
            for index, member in enumerate(members):
                yield from _llamacpp_gaps(member, f"{path}.{keyword}[{index}]")
    for keyword in _MAP:
        members = schema.get(keyword)
        if isinstance(members, dict):
            for name, member in members.items():
                yield from _llamacpp_gaps(member, f"{path}.{keyword}.{name}")


def _is_number(schema: dict[str, Any]) -> bool:
    """A number other than an integer may hold here (no type at all: anything may)."""
    kind = schema.get("type")
    return kind is None or kind == "number" or (isinstance(kind, list) and "number" in kind)
