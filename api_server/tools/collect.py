"""Merge a parser's events into one result, for non-streaming responses."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from api_server.chat.events import ParserEvent, TextDelta, ToolCallStart


class ParsedToolCall(NamedTuple):
    name: str
    arguments: str  # the JSON text of the arguments, fragments joined as emitted
    model_id: str | None


@dataclass(frozen=True, slots=True)
class ParsedOutput:
    content: str
    calls: list[ParsedToolCall] = field(default_factory=list)


def collect(events: Iterable[ParserEvent]) -> ParsedOutput:
    """Join content and each call's argument fragments; calls come out in index order.

    Raises ValueError for arguments of a call that never started: a parser bug, not model
    output, since parsers turn malformed output into content.
    """
    text: list[str] = []
    starts: dict[int, ToolCallStart] = {}
    fragments: dict[int, list[str]] = {}
    for event in events:
        if isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, ToolCallStart):
            starts[event.index] = event
            fragments[event.index] = []
        elif event.index in fragments:
            fragments[event.index].append(event.fragment)
        else:
            raise ValueError(f"arguments for tool call {event.index} before its start")
    calls = [
        ParsedToolCall(start.name, "".join(fragments[index]), start.model_id)
        for index, start in sorted(starts.items())
    ]
    return ParsedOutput("".join(text), calls)


def arguments_object(fragments: list[str]) -> dict[str, Any]:
    """A call's argument fragments as the object front doors that carry parsed input need
    (Anthropic tool_use). Arguments cut off by max_tokens do not parse: the input is then
    empty, and the finish reason says why."""
    parsed = parsed_arguments(fragments)
    return {} if parsed is None else parsed


def parsed_arguments(fragments: list[str]) -> dict[str, Any] | None:
    """A call's argument fragments as a JSON object, or None when they are not one."""
    try:
        parsed = json.loads("".join(fragments) or "{}")
    except (json.JSONDecodeError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None
