"""Render raw-prompt completions as OpenAI `text_completion` objects and chunks."""

from __future__ import annotations

import time
from typing import Any

from api_server.chat.events import ChatEvent, Finished, TextDelta
from api_server.openai.render import SSE_DONE, new_completion_id, sse, usage_dict, with_usage


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
            return self._chunk(event.text, None)
        if isinstance(event, Finished):
            closing = self._chunk("", event.reason)
            if self.include_usage:
                closing += sse(with_usage(self._object("", None), event.usage))
            return closing + SSE_DONE
        return b""

    def _chunk(self, text: str, finish_reason: str | None) -> bytes:
        payload = self._object(text, finish_reason)
        if self.include_usage:
            payload["usage"] = None  # as OpenAI: every chunk but the last carries null
        return sse(payload)
