"""`tool_choice: required` or a named function, on engines without constrained decoding.

The assistant turn is prefilled with the opening of a call in the model's own syntax, so the
model can only continue into one; the same prefix is fed to the parser first, so the call is
parsed exactly as if the model had written it.
"""

from __future__ import annotations

import json

from api_server.chat.conversation import NamedToolChoice, ToolChoice


def forced_call_prefix(syntax: str, prompt_family: str, choice: ToolChoice) -> str:
    """The text that opens a tool call, or "" when the choice forces nothing."""
    if choice in ("auto", "none"):
        return ""
    name = choice.name if isinstance(choice, NamedToolChoice) else None
    quoted = json.dumps(name) if name else None
    if syntax == "hermes":
        return '<tool_call>\n{"name": ' + (f'{quoted}, "arguments": ' if quoted else '"')
    if syntax == "llama3-json":
        return '{"name": ' + (f'{quoted}, "parameters": ' if quoted else '"')
    if syntax == "mistral":
        if prompt_family == "mistral-v13":
            return "[TOOL_CALLS]" + (f"{name}[ARGS]" if name else "")
        return '[TOOL_CALLS][{"name": ' + (f'{quoted}, "arguments": ' if quoted else '"')
    return ""
