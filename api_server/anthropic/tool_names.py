"""Tool names the model can be shown, and the way back to the client's names.

Prompt formats and tool-call parsers expect OpenAI-style function names (at most 64 of
`[a-zA-Z0-9_-]`); Anthropic clients send others, e.g. MCP tools with dots or long prefixes.
Such a name is replaced going in by a safe one and restored coming out. The safe name is a
pure function of the client's name (a readable stem plus a hash), so a tool named in one
request and its `tool_use` echoed in the next map to the same name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_NAME_LENGTH = 64
_VALID_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_INVALID_CHARS = re.compile(r"[^a-zA-Z0-9_-]+")
_HASH_LENGTH = 8


def safe_tool_name(name: str) -> str:
    """`name` itself when valid; else its valid characters, cut short, plus a hash."""
    if _VALID_NAME.fullmatch(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_LENGTH]
    stem = _INVALID_CHARS.sub("_", name).strip("_")[: MAX_NAME_LENGTH - _HASH_LENGTH - 1]
    return f"{stem}_{digest}" if stem else f"tool_{digest}"


@dataclass(frozen=True, slots=True)
class ToolNameMap:
    """The client's tool names and the names the model sees, both ways."""

    to_model: dict[str, str]
    to_client: dict[str, str]

    @classmethod
    def for_names(cls, names: Iterable[str]) -> ToolNameMap:
        to_model = {name: safe_tool_name(name) for name in names}
        return cls(to_model, {safe: name for name, safe in to_model.items()})

    def model_name(self, client_name: str) -> str:
        # Names outside the tool list (an old tool_use in the history) map the same way.
        return self.to_model.get(client_name) or safe_tool_name(client_name)

    def client_name(self, model_name: str) -> str:
        return self.to_client.get(model_name, model_name)
