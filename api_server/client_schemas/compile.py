"""`compile_client_schema`: a client's JSON schema refused, or made into a `ClientSchema`
that checks instances without the network, files, or backtracking regular expressions."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import extend, validator_for
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import specification_with

from api_server.client_schemas.keywords import client_keywords
from api_server.client_schemas.meter import CheckBudgetSpent, metered_check
from api_server.client_schemas.regex import PatternError, compile_pattern
from api_server.client_schemas.scan import SchemaLimits, SchemaRefused, scan_schema
from api_server.errors import InvalidSchemaError

# Drafts whose keywords `keywords.RE2_KEYWORDS` covers (draft 3's are its own).
_DRAFTS = frozenset(
    {
        "http://json-schema.org/draft-04/schema",
        "http://json-schema.org/draft-06/schema",
        "http://json-schema.org/draft-07/schema",
        "https://json-schema.org/draft/2019-09/schema",
        "https://json-schema.org/draft/2020-12/schema",
    }
)
# The seconds one instance may take to check; the limits keep real ones far below.
CHECK_BUDGET_S = 2.0


def _refuse_retrieval(uri: str) -> Resource[Any]:
    """No `$ref` is ever fetched: not over HTTP (blind SSRF, a tarpit), not from a file."""
    raise NoSuchResource(uri)


# The drafts' own metaschemas are still found: jsonschema adds them to any registry.
_NO_RETRIEVAL: Registry[Any] = Registry(retrieve=_refuse_retrieval)  # type: ignore[call-arg]


@dataclass(frozen=True, slots=True)
class ClientSchema:
    """A client schema that passed `compile_client_schema`."""

    schema: dict[str, Any]
    _validator: Validator

    def first_error(self, instance: Any, budget_s: float = CHECK_BUDGET_S) -> str | None:
        """The most telling way `instance` breaks the schema, or None when it conforms.
        Blocking, but metered: past `budget_s` or `meter.MAX_STEPS` keyword evaluations
        (references can fan out exponentially) the instance counts as not checkable."""
        try:
            error = metered_check(
                budget_s, lambda: best_match(self._validator.iter_errors(instance))
            )
        except CheckBudgetSpent as exc:
            return f"at $: {exc}"
        except Unresolvable as exc:  # only a reference `compile` let through yet unresolved
            return f"at $: the schema's reference {exc.ref!r} cannot be resolved"
        except RecursionError:
            return "at $: the value is nested too deeply to check"
        except PatternError as exc:  # only a pattern `compile` did not see
            return f"at $: the schema has a pattern RE2 cannot run ({exc})"
        except (OverflowError, ValueError):  # numbers past a float's range, or past str()'s
            return "at $: the value holds a number too large to check"
        if error is None:
            return None
        return f"at {error.json_path}: {error.message}"

    async def check(self, instance: Any, budget_s: float = CHECK_BUDGET_S) -> str | None:
        """`first_error` off the event loop, so no schema stalls other requests. The
        thread stops itself at `budget_s`; the timeout answers on time regardless."""
        try:
            async with asyncio.timeout(budget_s):
                return await asyncio.to_thread(self.first_error, instance, budget_s)
        except TimeoutError:
            return f"at $: the value could not be checked within {budget_s:g} s"


DEFAULT_LIMITS = SchemaLimits()
# Patterns in all the schemas of one request together: compiling one can take RE2 100 ms.
MAX_PATTERNS_PER_REQUEST = 128


@dataclass(slots=True)
class RequestSchemas:
    """What the schemas of one request may cost together; one per request."""

    patterns_left: int = MAX_PATTERNS_PER_REQUEST

    def spend_patterns(self, count: int) -> None:
        self.patterns_left -= count
        if self.patterns_left < 0:
            raise SchemaRefused(
                f"the request's schemas have more than {MAX_PATTERNS_PER_REQUEST} patterns together"
            )


def compile_client_schema(
    schema: Any,
    *,
    param: str,
    limits: SchemaLimits = DEFAULT_LIMITS,
    request: RequestSchemas | None = None,
) -> ClientSchema:
    """`schema` checked and compiled; InvalidSchemaError (400, `param` naming where the
    client put it, e.g. `tools[0].function.parameters`) when it is refused. `request`
    carries the budget the request's other schemas have spent (None: this one alone)."""
    try:
        return _compile(schema, limits, request or RequestSchemas())
    except SchemaRefused as exc:
        raise InvalidSchemaError(f"Invalid JSON schema in '{param}': {exc}", param=param) from None


def _compile(schema: Any, limits: SchemaLimits, request: RequestSchemas) -> ClientSchema:
    if not isinstance(schema, dict):
        raise SchemaRefused("it must be a JSON object")
    found = scan_schema(schema, limits)
    request.spend_patterns(len(found.patterns))
    if len(json.dumps(schema, separators=(",", ":"))) > limits.max_bytes:
        raise SchemaRefused(f"it is larger than {limits.max_bytes} bytes")
    dialect = schema.get("$schema")
    if dialect is not None and (not isinstance(dialect, str) or dialect.rstrip("#") not in _DRAFTS):
        raise SchemaRefused(f"'$schema' {dialect!r} is not a JSON Schema draft this gateway checks")
    draft = validator_for(schema, default=Draft202012Validator)
    # Against the draft's metaschema, without its format checker: that would compile the
    # client's patterns with Python's `re`.
    invalid = best_match(draft(draft.META_SCHEMA).iter_errors(schema))
    if invalid is not None:
        raise SchemaRefused(
            f"it is not a valid JSON Schema: {invalid.message} at {invalid.json_path}"
        )
    for pattern in found.patterns:
        try:
            compile_pattern(pattern)
        except PatternError as exc:
            raise SchemaRefused(
                f"pattern {pattern!r} is not supported ({exc}); patterns run on RE2: "
                "no lookaround or backreferences"
            ) from None
    if found.pattern_properties and "unevaluatedProperties" in found.keywords:
        raise SchemaRefused("'unevaluatedProperties' cannot be combined with 'patternProperties'")
    _check_references(schema, found.references, found.nested_ids)
    return ClientSchema(schema, _re2_validator(draft)(schema, registry=_NO_RETRIEVAL))


@cache
def _re2_validator(draft: type[Validator]) -> type[Validator]:
    """The draft's validator with `keywords.client_keywords` (RE2, metered); not registered
    as the draft's class (`version` unset), so nothing but client schemas uses it."""
    keywords = client_keywords(dict(draft.VALIDATORS))
    client_draft: type[Validator] = extend(draft, validators=keywords)  # type: ignore[no-untyped-call]
    return client_draft


def _check_references(schema: dict[str, Any], references: list[str], nested_ids: int) -> None:
    """Every reference points into the document itself (`#/$defs/...`, `#anchor`) and
    resolves now; with no `$id` below the root, resolving from the root is exact."""
    if not references:
        return
    if nested_ids:
        raise SchemaRefused("'$id' is allowed only at the schema's root")
    resolver = _NO_RETRIEVAL.resolver_with_root(
        specification_with(
            schema.get("$schema", "https://json-schema.org/draft/2020-12/schema")
        ).create_resource(schema)
    )
    for reference in references:
        if not reference.startswith("#"):
            raise SchemaRefused(
                f"reference {reference!r} points outside the schema; only references "
                "within it ('#/$defs/...') are allowed"
            )
        try:
            resolver.lookup(reference)
        except Unresolvable:
            raise SchemaRefused(f"reference {reference!r} does not resolve") from None
