"""Tool names the model can be shown, and the way back to the client's names.

Prompt formats and tool-call parsers expect OpenAI-style function names (at most 64 of
`[a-zA-Z0-9_-]`); Anthropic clients send others, e.g. MCP tools with dots or long prefixes.
Such a name is replaced going in by a safe one and restored coming out. The safe name is a
pure function of the client's name (a readable stem plus a hash), so a tool named in one
request and its `tool_use` echoed in the next map to the same name.

The `tool_name_map` setting names some upstream names outright ({client: upstream}); the
explicit map wins, and a client name whose automatic safe name would collide with an
explicit upstream name gets the hashed form instead, so no two client names share one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from api_server.tools.names import MAX_NAME_LENGTH, is_valid_tool_name

_INVALID_CHARS = re.compile(r"[^a-zA-Z0-9_-]+")
_HASH_LENGTH = 8


def safe_tool_name(name: str) -> str:
    """`name` itself when valid; else its valid characters, cut short, plus a hash."""
    if is_valid_tool_name(name):
        return name
    return _hashed_tool_name(name)


def _hashed_tool_name(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_LENGTH]
    stem = _INVALID_CHARS.sub("_", name).strip("_")[: MAX_NAME_LENGTH - _HASH_LENGTH - 1]
    return f"{stem}_{digest}" if stem else f"tool_{digest}"


@dataclass(frozen=True, slots=True)
class ToolNameMap:
    """The client's tool names and the names the model sees, both ways."""

    to_model: dict[str, str]
    to_client: dict[str, str]
    explicit: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def for_names(
        cls, names: Iterable[str], explicit: Mapping[str, str] | None = None
    ) -> ToolNameMap:
        explicit = explicit or {}
        to_model = {name: _model_name(name, explicit) for name in names}
        to_client = {upstream: client for client, upstream in explicit.items()}
        to_client.update({model: name for name, model in to_model.items()})
        return cls(to_model, to_client, explicit)

    def model_name(self, client_name: str) -> str:
        # Names outside the tool list (an old tool_use in the history) map the same way.
        return self.to_model.get(client_name) or _model_name(client_name, self.explicit)

    def client_name(self, model_name: str) -> str:
        return self.to_client.get(model_name, model_name)


def _model_name(client_name: str, explicit: Mapping[str, str]) -> str:
    if (upstream := explicit.get(client_name)) is not None:
        return upstream
    safe = safe_tool_name(client_name)
    if safe in explicit.values():  # taken by an explicit mapping: never shared
        return _hashed_tool_name(client_name)
    return safe
