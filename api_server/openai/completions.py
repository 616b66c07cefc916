"""Render raw-prompt completions as OpenAI `text_completion` objects and chunks."""

from __future__ import annotations

import time
from typing import Any

from api_server.chat.events import ChatEvent, Finished
from api_server.openai.responses import SSE_DONE, new_completion_id, sse, usage_dict
from api_server.tools.base import TextDelta


class TextCompletionState:
    def __init__(self, model: str, include_usage: bool = False) -> None:
        self.id = new_completion_id("cmpl")
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage
        self._text: list[str] = []
        self.finished: Finished | None = None

    def _object(self, text: str, finish_reason: str | None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [
                {"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}
            ],
        }

    def add(self, event: ChatEvent) -> None:
        if isinstance(event, TextDelta):
            self._text.append(event.text)
        elif isinstance(event, Finished):
            self.finished = event

    def result(self) -> dict[str, Any]:
        assert self.finished is not None, "the generation ended without Finished"
        body = self._object("".join(self._text), self.finished.reason)
        body["usage"] = usage_dict(self.finished.usage)
        return body

    def render(self, event: ChatEvent) -> bytes:
        if isinstance(event, TextDelta):
            return sse(self._object(event.text, None))
        if isinstance(event, Finished):
            closing = sse(self._object("", event.reason))
            if self.include_usage:
                usage_chunk = self._object("", None)
                usage_chunk["choices"] = []
                usage_chunk["usage"] = usage_dict(event.usage)
                closing += sse(usage_chunk)
            return closing + SSE_DONE
        return b""
