"""One bounded walk over a client schema: its size, its references and its patterns.

Pure and iterative (a schema nested 10,000 deep is refused, not a RecursionError). The walk
knows where schemas sit: values under data keywords (`enum`, `const`, `default`,
`examples`) are data, so a `"$ref"` inside them refers to nothing; the values of
name-to-schema maps (`properties`, `$defs`, ...) are schemas whatever their names, so a
property called `default` is still checked. Anything else is walked as a schema: an
unknown keyword's object is checked too, which can only refuse more.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples"})
# Keywords whose value maps names (or patterns) to schemas; `dependencies` maps to a schema
# or a list of names, both walked as schemas harmlessly.
_NAME_MAPS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
)
_REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")


class SchemaRefused(ValueError):
    """Why the schema is refused, in words for the client."""


@dataclass(frozen=True, slots=True)
class SchemaLimits:
    """Bounds on the work a client schema may cause: a tool's parameters need far less."""

    max_depth: int = 32  # objects and arrays nested in one another
    max_nodes: int = 5_000  # keys and array items, all levels together
    max_bytes: int = 64 * 1024  # the schema as compact JSON
    max_pattern_length: int = 1_000  # characters of one `pattern` or `patternProperties` key
    max_patterns: int = 32  # `pattern`s and `patternProperties` keys in one schema
    max_pattern_chars: int = 8_192  # all of them together


class _Place(Enum):
    SCHEMA = "schema"  # a schema, or a list of schemas
    NAMES = "names"  # an object whose keys are names and whose values are schemas
    DATA = "data"


@dataclass(slots=True)
class SchemaScan:
    references: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    keywords: set[str] = field(default_factory=set)  # every keyword seen in a schema
    pattern_properties: bool = False
    nested_ids: int = 0  # `$id`s below the root


def scan_schema(schema: Any, limits: SchemaLimits) -> SchemaScan:
    """Raises SchemaRefused past a limit, else what `compile_client_schema` checks next."""
    found = SchemaScan()
    nodes = 0
    stack: list[tuple[Any, int, _Place]] = [(schema, 1, _Place.SCHEMA)]
    while stack:
        value, depth, place = stack.pop()
        if depth > limits.max_depth and isinstance(value, dict | list):
            raise SchemaRefused(f"it is nested more than {limits.max_depth} levels deep")
        children = list(_children(value, depth, place, found))
        nodes += len(children)
        if nodes > limits.max_nodes:
            raise SchemaRefused(f"it has more than {limits.max_nodes} keys and items")
        stack.extend(children)
    _check_patterns(found.patterns, limits)
    return found


def _check_patterns(patterns: list[str], limits: SchemaLimits) -> None:
    if any(len(pattern) > limits.max_pattern_length for pattern in patterns):
        raise SchemaRefused(f"a pattern is longer than {limits.max_pattern_length} characters")
    if len(patterns) > limits.max_patterns:
        raise SchemaRefused(f"it has more than {limits.max_patterns} patterns")
    if sum(map(len, patterns)) > limits.max_pattern_chars:
        raise SchemaRefused(
            f"its patterns are longer than {limits.max_pattern_chars} characters together"
        )


def _children(
    value: Any, depth: int, place: _Place, found: SchemaScan
) -> Iterator[tuple[Any, int, _Place]]:
    if isinstance(value, list):
        for item in value:
            yield item, depth + 1, place if place is not _Place.NAMES else _Place.SCHEMA
        return
    if not isinstance(value, dict):
        return
    for key, child in value.items():
        if place is _Place.SCHEMA:
            _note(key, child, depth, found)
            yield child, depth + 1, _place_under(key)
        else:  # a name's schema, or data all the way down
            yield child, depth + 1, _Place.SCHEMA if place is _Place.NAMES else _Place.DATA


def _place_under(keyword: str) -> _Place:
    if keyword in _DATA_KEYWORDS:
        return _Place.DATA
    if keyword in _NAME_MAPS:
        return _Place.NAMES
    return _Place.SCHEMA


def _note(key: str, child: Any, depth: int, found: SchemaScan) -> None:
    found.keywords.add(key)
    if key in _REFERENCES and isinstance(child, str):
        found.references.append(child)
    elif key == "$id" and isinstance(child, str) and depth > 1:
        found.nested_ids += 1
    elif key == "pattern" and isinstance(child, str):
        found.patterns.append(child)
    elif key == "patternProperties" and isinstance(child, dict):
        found.patterns.extend(child)
        found.pattern_properties = True
