"""What a chat generation yields, whichever front door renders it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from api_server.engines.types import Usage
from api_server.tools.base import TextDelta, ToolCallArgumentsDelta, ToolCallStart

FinishReason = Literal["stop", "length", "tool_calls"]


@dataclass(frozen=True, slots=True)
class Finished:
    reason: FinishReason
    usage: Usage
    # The client's stop sequence the engine stopped on, when the engine says (vLLM does).
    stop_sequence: str | None = None


ChatEvent = TextDelta | ToolCallStart | ToolCallArgumentsDelta | Finished

__all__ = [
    "ChatEvent",
    "FinishReason",
    "Finished",
    "TextDelta",
    "ToolCallArgumentsDelta",
    "ToolCallStart",
]
