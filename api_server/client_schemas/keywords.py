"""jsonschema's three keywords that run regular expressions, with RE2 in place of `re`.

The rest of jsonschema's keywords are kept; `unevaluatedProperties` next to
`patternProperties` would still reach `re`, so `scan` refuses that pair."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from jsonschema.exceptions import ValidationError

from api_server.client_schemas.regex import pattern_matches

if TYPE_CHECKING:
    # The stubs' name for the classes `jsonschema.validators.create` makes (with `descend`).
    from jsonschema.validators import _Validator as Validator


def pattern(
    validator: Validator, pattern: str, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not pattern_matches(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


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


RE2_KEYWORDS = {
    "pattern": pattern,
    "patternProperties": pattern_properties,
    "additionalProperties": additional_properties,
}
