"""JSON schemas a client sends (tool parameters; later `response_format`), checked safely.

Every client-supplied schema goes through `compile_client_schema`: it is refused (a 400
naming where it came from) when it is not a valid JSON Schema, is too big or too deep,
refers to anything outside itself, or has a pattern RE2 cannot run. What it returns checks
instances with no network, no file access and linear-time regular expressions;
`ClientSchema.check` does so off the event loop within a time budget.
"""

from api_server.client_schemas.compile import (
    ClientSchema,
    RequestSchemas,
    compile_client_schema,
)
from api_server.client_schemas.scan import SchemaLimits

__all__ = ["ClientSchema", "RequestSchemas", "SchemaLimits", "compile_client_schema"]
