"""What a chat generation yields, whichever front door renders it: text and tool-call
events (what a tool-call parser emits while reading the model's raw output), then
`Finished` with the usage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class TextDelta:
    """Plain content for the client."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallStart:
    """A new tool call, numbered from 0 in output order. `model_id` is the id the model
    wrote itself (Mistral does), or None."""

    index: int
    name: str
    model_id: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallArgumentsDelta:
    """A fragment of the JSON text of the arguments of call `index`; fragments concatenate."""

    index: int
    fragment: str


@dataclass(frozen=True, slots=True)
class TopLogprob:
    """One of the likeliest tokens at a place in the output."""

    token: str
    logprob: float
    bytes: tuple[int, ...] | None = None  # the token's UTF-8 bytes, where the engine says


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """A generated token, its log probability and the likeliest tokens at its place (the
    token itself may be among them)."""

    token: str
    logprob: float
    bytes: tuple[int, ...] | None = None
    top: tuple[TopLogprob, ...] = ()


@dataclass(frozen=True, slots=True)
class Logprobs:
    """The log probabilities of the next generated tokens (only when a request asks): their
    text comes in the text and tool-call events that follow."""

    tokens: tuple[TokenLogprob, ...]


ParserEvent = TextDelta | ToolCallStart | ToolCallArgumentsDelta

FinishReason = Literal["stop", "length", "tool_calls"]


@dataclass(frozen=True, slots=True)
class Finished:
    reason: FinishReason
    usage: Usage
    # The client's stop sequence the engine stopped on, when the engine says (vLLM does).
    stop_sequence: str | None = None


ChatEvent = TextDelta | ToolCallStart | ToolCallArgumentsDelta | Logprobs | Finished

__all__ = [
    "ChatEvent",
    "FinishReason",
    "Finished",
    "Logprobs",
    "ParserEvent",
    "TextDelta",
    "TokenLogprob",
    "ToolCallArgumentsDelta",
    "ToolCallStart",
    "TopLogprob",
    "Usage",
]
