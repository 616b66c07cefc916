"""jsonschema's keywords as client schemas run them: the three that run regular
expressions with RE2 in place of `re`, `uniqueItems` in linear time, `multipleOf` without
an OverflowError, and every keyword spending a step of the check's meter.

The rest of jsonschema's keywords are kept; `unevaluatedProperties` next to
`patternProperties` would still reach `re`, so `scan` refuses that pair."""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from jsonschema.exceptions import ValidationError

from api_server.client_schemas.meter import Keyword, metered
from api_server.client_schemas.regex import pattern_matches

if TYPE_CHECKING:
    # The stubs' name for the classes `jsonschema.validators.create` makes (with `descend`).
    from jsonschema.validators import _Validator as Validator


def pattern(
    validator: Validator, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not pattern_matches(pattern, instance):
        yield ValidationError(f"{_shown(instance)} does not match {pattern!r}")


def pattern_properties(
    validator: Validator, patterns: dict[str, Any], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for regex, subschema in patterns.items():
        for key, value in instance.items():
            if pattern_matches(regex, key):
                yield from validator.descend(value, subschema, path=key, schema_path=regex)


def additional_properties(
    validator: Validator, additional: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    extras = sorted(_additional(instance, schema), key=str)
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        named = ", ".join(repr(extra) for extra in extras)
        if "patternProperties" in schema:
            patterns = ", ".join(repr(each) for each in sorted(schema["patternProperties"]))
            yield ValidationError(f"{named} do(es) not match any of the regexes: {patterns}")
        else:
            yield ValidationError(f"Additional properties are not allowed ({named} unexpected)")


def _additional(instance: dict[str, Any], schema: dict[str, Any]) -> Iterator[str]:
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    for key in instance:
        if key in properties or any(pattern_matches(regex, key) for regex in patterns):
            continue
        yield key


def unique_items(
    validator: Validator, unique: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """One pass with hashing (jsonschema compares unsortable items pairwise: O(n²))."""
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[Hashable] = set()
    for item in instance:
        key = _canonical(item)
        if key in seen:
            yield ValidationError(f"{_shown(instance)} has non-unique elements")
            return
        seen.add(key)


def _canonical(value: Any) -> Hashable:
    """Equal exactly when JSON Schema calls two values equal: 1 and 1.0 are, true and 1
    are not, objects regardless of key order."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, int | float):
        return ("number", value)  # Python already hashes 1 and 1.0 alike
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(_canonical(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((key, _canonical(item)) for key, item in value.items()))
    return ("other", repr(value))


def multiple_of(
    validator: Validator, divisor: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """jsonschema's, but exact where a float cannot hold the instance (10**400 / 0.5
    raises OverflowError there)."""
    if not validator.is_type(instance, "number") or isinstance(instance, bool):
        return
    try:
        if isinstance(divisor, float):
            quotient = instance / divisor
            failed = int(quotient) != quotient
        else:
            failed = bool(instance % divisor)
    except (OverflowError, ValueError):  # past a float's range, or an infinity or NaN
        finite = isinstance(instance, int) or math.isfinite(instance)
        failed = not finite or (Fraction(instance) / Fraction(divisor)).denominator != 1
    if failed:
        yield ValidationError(f"{_shown(instance)} is not a multiple of {divisor}")


def _shown(value: Any, limit: int = 80) -> str:
    """An instance in an error message, cut short: it goes back to the client and the log."""
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 1000 else "a number"
    return text if len(text) <= limit else text[: limit - 3] + "..."


_OWN_KEYWORDS: dict[str, Keyword] = {
    "pattern": pattern,
    "patternProperties": pattern_properties,
    "additionalProperties": additional_properties,
    "uniqueItems": unique_items,
    "multipleOf": multiple_of,
}


def client_keywords(draft_keywords: dict[str, Keyword]) -> dict[str, Keyword]:
    """The draft's keywords with ours in place, each one metered."""
    return {
        name: metered(_OWN_KEYWORDS.get(name, keyword)) for name, keyword in draft_keywords.items()
    }
