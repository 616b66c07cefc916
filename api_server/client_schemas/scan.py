"""One bounded walk over a client schema: its size, its references and its patterns.

Pure and iterative (a schema nested 10,000 deep is refused, not a RecursionError). Values
under data keywords (`enum`, `const`, `default`, `examples`) are data: a `"$ref"` inside
them refers to nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples"})
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


@dataclass(slots=True)
class SchemaScan:
    references: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    keywords: set[str] = field(default_factory=set)  # every key seen in a schema object
    pattern_properties: bool = False
    nested_ids: int = 0  # `$id`s below the root


def scan_schema(schema: Any, limits: SchemaLimits) -> SchemaScan:
    """Raises SchemaRefused past a limit, else what `compile_client_schema` checks next."""
    found = SchemaScan()
    nodes = 0
    stack: list[tuple[Any, int, bool]] = [(schema, 1, False)]  # (value, depth, is data)
    while stack:
        value, depth, is_data = stack.pop()
        if depth > limits.max_depth and isinstance(value, dict | list):
            raise SchemaRefused(f"it is nested more than {limits.max_depth} levels deep")
        children = list(_children(value, depth, is_data, found))
        nodes += len(children)
        if nodes > limits.max_nodes:
            raise SchemaRefused(f"it has more than {limits.max_nodes} keys and items")
        stack.extend(children)
    if any(len(pattern) > limits.max_pattern_length for pattern in found.patterns):
        raise SchemaRefused(f"a pattern is longer than {limits.max_pattern_length} characters")
    return found


def _children(
    value: Any, depth: int, is_data: bool, found: SchemaScan
) -> Iterator[tuple[Any, int, bool]]:
    if isinstance(value, list):
        for item in value:
            yield item, depth + 1, is_data
        return
    if not isinstance(value, dict):
        return
    for key, child in value.items():
        if not is_data:
            _note(key, child, depth, found)
        yield child, depth + 1, is_data or key in _DATA_KEYWORDS


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
