"""Render raw-prompt completions as OpenAI `text_completion` objects and chunks."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from api_server.chat.events import ChatEvent, Finished, Logprobs, TextDelta, TokenLogprob
from api_server.openai.render import SSE_DONE, new_completion_id, sse, usage_dict, with_usage


def legacy_logprobs(
    tokens: Sequence[TokenLogprob], top_logprobs: int, text_offset: int
) -> dict[str, Any]:
    """The completions API's logprobs: parallel lists, each alternative set a
    `{token: logprob}` map, and each token's offset in the text (counted from
    `text_offset`, where these tokens start)."""
    offsets = []
    for token in tokens:
        offsets.append(text_offset)
        text_offset += len(token.token)
    return {
        "tokens": [token.token for token in tokens],
        "token_logprobs": [token.logprob for token in tokens],
        "top_logprobs": [
            {
                top.token: top.logprob
                for top in sorted(token.top, key=lambda top: -top.logprob)[:top_logprobs]
            }
            for token in tokens
        ],
        "text_offset": offsets,
    }


class TextCompletionState:
    """`top_logprobs`: the request's `logprobs` (None: none asked for)."""

    def __init__(
        self, model: str, include_usage: bool = False, top_logprobs: int | None = None
    ) -> None:
        self.id = new_completion_id("cmpl")
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage
        self.top_logprobs = top_logprobs
        self._text: list[str] = []
        self._logprobs: list[TokenLogprob] = []  # all of them (JSON), or the next text's
        self._offset = 0  # characters of text already streamed
        self.finished: Finished | None = None

    def _object(
        self, text: str, finish_reason: str | None, logprobs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [
                {"index": 0, "text": text, "logprobs": logprobs, "finish_reason": finish_reason}
            ],
        }

    def add(self, event: ChatEvent) -> None:
        if isinstance(event, TextDelta):
            self._text.append(event.text)
        elif isinstance(event, Logprobs):
            self._logprobs.extend(event.tokens)
        elif isinstance(event, Finished):
            self.finished = event

    def result(self) -> dict[str, Any]:
        assert self.finished is not None, "the generation ended without Finished"
        body = self._object("".join(self._text), self.finished.reason, self._take_logprobs())
        body["usage"] = usage_dict(self.finished.usage)
        return body

    def render(self, event: ChatEvent) -> bytes:
        if isinstance(event, Logprobs):
            self._logprobs.extend(event.tokens)
            return b""
        if isinstance(event, TextDelta):
            return self._chunk(event.text, None)
        if isinstance(event, Finished):
            closing = self._chunk("", event.reason)
            if self.include_usage:
                closing += sse(with_usage(self._object("", None), event.usage))
            return closing + SSE_DONE
        return b""

    def _chunk(self, text: str, finish_reason: str | None) -> bytes:
        payload = self._object(text, finish_reason, self._take_logprobs())
        self._offset += len(text)
        if self.include_usage:
            payload["usage"] = None  # as OpenAI: every chunk but the last carries null
        return sse(payload)

    def _take_logprobs(self) -> dict[str, Any] | None:
        if self.top_logprobs is None:
            return None
        logprobs = legacy_logprobs(self._logprobs, self.top_logprobs, self._offset)
        self._logprobs = []
        return logprobs
