"""Events a tool-call parser emits while reading the model's raw output.

The same parser serves streaming and non-streaming responses: non-streaming feeds the whole
text once and calls `finish()`. Parsers are pure; the service assigns client-facing call ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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


ParserEvent = TextDelta | ToolCallStart | ToolCallArgumentsDelta


class ToolCallParser(Protocol):
    def feed(self, text: str) -> list[ParserEvent]:
        """Consume the next piece of raw model output."""
        ...

    def finish(self) -> list[ParserEvent]:
        """The output ended: flush what is held back (an unfinished call becomes text)."""
        ...
