"""What a tool-call parser is: it reads the model's raw output and emits text and
tool-call events (`api_server.chat.events`).

The same parser serves streaming and non-streaming responses: non-streaming feeds the whole
text once and calls `finish()`. Parsers are pure; the service assigns client-facing call ids.
"""

from __future__ import annotations

from typing import Protocol

from api_server.chat.events import ParserEvent


class ToolCallParser(Protocol):
    def feed(self, text: str) -> list[ParserEvent]:
        """Consume the next piece of raw model output."""
        ...

    def finish(self) -> list[ParserEvent]:
        """The output ended: flush what is held back (an unfinished call becomes text)."""
        ...
