"""OpenAI's structured-output request (`response_format` of chat completions, `text.format`
of the Responses API) as the domain's `OutputFormat`, its schema refused or accepted by the
same checks as tool schemas (client_schemas: no `$ref` leaves the schema, RE2 patterns only,
bounded size)."""

from __future__ import annotations

import re
from typing import Any

from api_server.chat.sampling import OutputFormat
from api_server.client_schemas import RequestSchemas, compile_client_schema
from api_server.errors import InvalidRequestError

# OpenAI's rule for a schema's name.
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def output_format_from(
    response_format: Any,
    *,
    param: str = "response_format",
    schemas: RequestSchemas | None = None,
) -> OutputFormat | None:
    """None for plain text (`{"type": "text"}` or nothing); the 400 names `param` (and the
    nested field) for anything malformed."""
    if response_format is None:
        return None
    if not isinstance(response_format, dict):
        raise InvalidRequestError(f"'{param}' must be an object", param=param)
    kind = response_format.get("type", "text")
    if kind == "text":
        return None
    if kind == "json_object":
        return OutputFormat(param=param)
    if kind != "json_schema":
        raise InvalidRequestError(
            f"'{param}.type' must be one of 'text', 'json_object', 'json_schema'; got {kind!r}",
            param=f"{param}.type",
        )
    spec = response_format.get("json_schema")
    if not isinstance(spec, dict):
        raise InvalidRequestError(
            f"'{param}.json_schema' must be an object with 'name' and 'schema'",
            param=f"{param}.json_schema",
        )
    return json_schema_format(spec, param=f"{param}.json_schema", schemas=schemas, asked_in=param)


def json_schema_format(
    spec: dict[str, Any],
    *,
    param: str,
    schemas: RequestSchemas | None = None,
    asked_in: str | None = None,
) -> OutputFormat:
    """`{"name", "schema", "strict", "description"}` (chat's `json_schema` object, and the
    Responses API's `text.format` of type `json_schema`, which has the same fields); `param`
    prefixes the fields' names in errors, `asked_in` (by default `param`) is the request
    field a later refusal names."""
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidRequestError(
            f"'{param}.name' must be 1 to 64 letters, digits, '_' or '-'", param=f"{param}.name"
        )
    strict = spec.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise InvalidRequestError(f"'{param}.strict' must be a boolean", param=f"{param}.strict")
    schema = spec.get("schema", OutputFormat().constraint)
    checked = compile_client_schema(schema, param=f"{param}.schema", request=schemas)
    return OutputFormat(
        schema=checked.schema, name=name, strict=bool(strict), param=asked_in or param
    )
