"""Tool-call parsers: turn a model's raw text output into content and tool-call events."""

from __future__ import annotations

from collections.abc import Callable

from api_server.chat.events import ParserEvent, TextDelta, ToolCallArgumentsDelta, ToolCallStart
from api_server.tools.base import ToolCallParser
from api_server.tools.collect import ParsedOutput, ParsedToolCall, collect
from api_server.tools.hermes import HermesToolParser
from api_server.tools.llama3 import Llama3JsonToolParser
from api_server.tools.mistral import MistralToolParser
from api_server.tools.passthrough import PassthroughParser

_PARSERS: dict[str, Callable[[], ToolCallParser]] = {
    "hermes": HermesToolParser,
    "llama3-json": Llama3JsonToolParser,
    "mistral": MistralToolParser,
    "none": PassthroughParser,
}

TOOL_CALL_SYNTAXES: tuple[str, ...] = tuple(_PARSERS)


def build_tool_parser(syntax: str) -> ToolCallParser:
    """A fresh parser (they hold per-response state) for one of TOOL_CALL_SYNTAXES."""
    try:
        factory = _PARSERS[syntax]
    except KeyError:
        known = ", ".join(TOOL_CALL_SYNTAXES)
        raise ValueError(f"unknown tool-call syntax {syntax!r} (known: {known})") from None
    return factory()


__all__ = [
    "TOOL_CALL_SYNTAXES",
    "ParsedOutput",
    "ParsedToolCall",
    "ParserEvent",
    "TextDelta",
    "ToolCallArgumentsDelta",
    "ToolCallParser",
    "ToolCallStart",
    "build_tool_parser",
    "collect",
]
