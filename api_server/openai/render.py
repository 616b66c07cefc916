"""Render chat events as OpenAI objects: one `chat.completion`, or `chat.completion.chunk`s.

Streaming and non-streaming share `ChatResponseState`, which owns ids and folds events;
the two renderers differ only in when they emit.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import orjson

from api_server.chat.events import (
    ChatEvent,
    Finished,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
)
from api_server.errors import InferstackError
from api_server.generation.translation import TranslationCapture

_MISTRAL_ID = re.compile(r"^[A-Za-z0-9]{9}$")
SSE_DONE = b"data: [DONE]\n\n"


def new_completion_id(prefix: str = "chatcmpl") -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


def client_tool_call_id(model_id: str | None) -> str:
    """Keep a valid id the model wrote (Mistral round-trips it unchanged), else mint one."""
    if model_id and _MISTRAL_ID.match(model_id):
        return model_id
    return f"call_{secrets.token_hex(12)}"


def usage_dict(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def with_usage(chunk: dict[str, Any], usage: Usage) -> dict[str, Any]:
    """The final streamed chunk of `include_usage`: no choices, just the usage."""
    chunk["choices"] = []
    chunk["usage"] = usage_dict(usage)
    return chunk


def error_body(error: InferstackError) -> dict[str, Any]:
    return {
        "error": {
            "message": error.message,
            "type": error.error_type,
            "param": error.param,
            "code": error.code,
        }
    }


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"


def debug_event(completion_id: str, translation: TranslationCapture) -> dict[str, Any]:
    """The translation debug mode's one extra stream event (not a chunk: SDKs skip it)."""
    return {"id": completion_id, "object": "inferstack.debug", **translation.as_dict()}


class ChatResponseState:
    """Identity of one response and the tool-call ids handed to the client."""

    def __init__(self, model: str) -> None:
        self.id = new_completion_id()
        self.created = int(time.time())
        self.model = model
        self.call_ids: dict[int, str] = {}

    def call_id(self, event: ToolCallStart) -> str:
        return self.call_ids.setdefault(event.index, client_tool_call_id(event.model_id))


class ChatCompletionAssembler:
    """Folds events into one `chat.completion` object (non-streaming)."""

    def __init__(self, model: str, translation: TranslationCapture | None = None) -> None:
        self.state = ChatResponseState(model)
        self.translation = translation  # the debug mode's, read once the answer is complete
        self._text: list[str] = []
        self._calls: dict[int, dict[str, Any]] = {}
        self._arguments: dict[int, list[str]] = {}
        self.finished: Finished | None = None

    def add(self, event: ChatEvent) -> None:
        if isinstance(event, TextDelta):
            self._text.append(event.text)
        elif isinstance(event, ToolCallStart):
            self._calls[event.index] = {
                "id": self.state.call_id(event),
                "type": "function",
                "function": {"name": event.name, "arguments": ""},
            }
            self._arguments[event.index] = []
        elif isinstance(event, ToolCallArgumentsDelta):
            self._arguments.setdefault(event.index, []).append(event.fragment)
        else:
            self.finished = event

    def result(self) -> dict[str, Any]:
        assert self.finished is not None, "the generation ended without Finished"
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self._text) or (None if self._calls else ""),
            "refusal": None,
        }
        if self._calls:
            for index, call in self._calls.items():
                call["function"]["arguments"] = "".join(self._arguments[index]) or "{}"
            message["tool_calls"] = [self._calls[i] for i in sorted(self._calls)]
        state = self.state
        body: dict[str, Any] = {
            "id": state.id,
            "object": "chat.completion",
            "created": state.created,
            "model": state.model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self.finished.reason,
                }
            ],
            "usage": usage_dict(self.finished.usage),
        }
        if self.translation is not None:
            body["inferstack_debug"] = self.translation.as_dict()
        return body


class ChatChunkRenderer:
    """Renders events as SSE `chat.completion.chunk` lines (streaming)."""

    def __init__(
        self, model: str, include_usage: bool, translation: TranslationCapture | None = None
    ) -> None:
        self.state = ChatResponseState(model)
        self.include_usage = include_usage
        self.translation = translation  # the debug mode's, sent as an event before [DONE]

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        state = self.state
        payload: dict[str, Any] = {
            "id": state.id,
            "object": "chat.completion.chunk",
            "created": state.created,
            "model": state.model,
            "system_fingerprint": None,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if self.include_usage:
            payload["usage"] = None
        return sse(payload)

    def opening(self) -> bytes:
        return self._chunk({"role": "assistant", "content": ""})

    def render(self, event: ChatEvent) -> bytes:
        if isinstance(event, TextDelta):
            return self._chunk({"content": event.text})
        if isinstance(event, ToolCallStart):
            call = {
                "index": event.index,
                "id": self.state.call_id(event),
                "type": "function",
                "function": {"name": event.name, "arguments": ""},
            }
            return self._chunk({"tool_calls": [call]})
        if isinstance(event, ToolCallArgumentsDelta):
            call = {"index": event.index, "function": {"arguments": event.fragment}}
            return self._chunk({"tool_calls": [call]})
        closing = self._chunk({}, finish_reason=event.reason)
        if self.include_usage:
            state = self.state
            envelope = {
                "id": state.id,
                "object": "chat.completion.chunk",
                "created": state.created,
                "model": state.model,
                "system_fingerprint": None,
            }
            closing += sse(with_usage(envelope, event.usage))
        if self.translation is not None:
            closing += sse(debug_event(self.state.id, self.translation))
        return closing + SSE_DONE

    @staticmethod
    def render_error(error: InferstackError) -> bytes:
        # The openai SDK raises APIError on a data event carrying "error".
        return sse(error_body(error)) + SSE_DONE
