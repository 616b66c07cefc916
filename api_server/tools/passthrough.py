"""The parser for models without a tool-call syntax: all output is content."""

from __future__ import annotations

from api_server.chat.events import ParserEvent, TextDelta


class PassthroughParser:
    def feed(self, text: str) -> list[ParserEvent]:
        return [TextDelta(text)] if text else []

    def finish(self) -> list[ParserEvent]:
        return []
