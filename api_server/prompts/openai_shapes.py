"""The OpenAI-shaped dicts that chat templates expect (the shape transformers passes them).

Shared by the hand-written formatters that transcribe a template and by the Jinja renderer,
so both see the same tool and message shapes.
"""

from __future__ import annotations

import json
from typing import Any

from api_server.chat.conversation import ChatMessage, ToolCall, ToolSpec
from api_server.prompts.errors import PromptFormatError


def parse_arguments(arguments: str) -> Any:
    """Tool-call arguments as the object templates expect; text that is not JSON stays text."""
    try:
        return json.loads(arguments)
    except json.JSONDecodeError:
        return arguments
    except RecursionError:
        raise PromptFormatError("tool-call arguments are nested too deeply") from None


def tool_dict(spec: ToolSpec) -> dict[str, Any]:
    function: dict[str, Any] = {"name": spec.name}
    if spec.description is not None:
        function["description"] = spec.description
    function["parameters"] = spec.parameters
    return {"type": "function", "function": function}


def tool_call_dict(call: ToolCall) -> dict[str, Any]:
    function = {"name": call.name, "arguments": parse_arguments(call.arguments)}
    return {"id": call.id, "type": "function", "function": function}


def message_dict(message: ChatMessage) -> dict[str, Any]:
    """A message as a template sees it; optional keys are left out because templates
    test for their presence (`'tool_calls' in message`)."""
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [tool_call_dict(call) for call in message.tool_calls]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        out["name"] = message.name
    return out


def to_json(value: Any, indent: int | None = None) -> str:
    """The `tojson` filter of transformers' chat templates: key order kept, no HTML escaping."""
    return json.dumps(value, ensure_ascii=False, indent=indent)
