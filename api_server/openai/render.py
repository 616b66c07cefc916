"""Render chat events as OpenAI objects: one `chat.completion`, or `chat.completion.chunk`s.

Streaming and non-streaming share `ChatResponseState`, which owns ids and folds events;
the two renderers differ only in when they emit.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Sequence
from typing import Any

import orjson

from api_server.chat.events import (
    ChatEvent,
    Finished,
    Logprobs,
    TextDelta,
    TokenLogprob,
    ToolCallArgumentsDelta,
    ToolCallStart,
    TopLogprob,
    Usage,
)
from api_server.errors import InferstackError
from api_server.frontdoor.choices import ChoiceEvent, summed_usage
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
        self.call_ids: dict[tuple[int, int], str] = {}  # (choice, call index) -> id

    def call_id(self, event: ToolCallStart, choice: int = 0) -> str:
        key = (choice, event.index)
        return self.call_ids.setdefault(key, client_tool_call_id(event.model_id))


def logprobs_content(tokens: Sequence[TokenLogprob], top_logprobs: int) -> list[dict[str, Any]]:
    """OpenAI's `logprobs.content`: each token with its `top_logprobs` likeliest
    alternatives, likeliest first."""
    return [
        {
            **_logprob(token),
            "top_logprobs": [
                _logprob(top)
                for top in sorted(token.top, key=lambda top: -top.logprob)[:top_logprobs]
            ],
        }
        for token in tokens
    ]


def _logprob(token: TokenLogprob | TopLogprob) -> dict[str, Any]:
    token_bytes = None if token.bytes is None else list(token.bytes)
    return {"token": token.token, "logprob": token.logprob, "bytes": token_bytes}


class _ChoiceMessage:
    """One choice's message as its events arrive."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.arguments: dict[int, list[str]] = {}
        self.logprobs: list[TokenLogprob] = []
        self.finished: Finished | None = None

    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self.text) or (None if self.calls else ""),
            "refusal": None,
        }
        if self.calls:
            for index, call in self.calls.items():
                call["function"]["arguments"] = "".join(self.arguments[index]) or "{}"
            message["tool_calls"] = [self.calls[i] for i in sorted(self.calls)]
        return message


class ChatCompletionAssembler:
    """Folds events into one `chat.completion` object (non-streaming), of `choices`
    choices (their events told apart by `add`'s `choice`). `top_logprobs`: how many
    alternatives each token's logprobs list (None: logprobs were not asked for)."""

    def __init__(
        self,
        model: str,
        translation: TranslationCapture | None = None,
        top_logprobs: int | None = None,
        choices: int = 1,
    ) -> None:
        self.state = ChatResponseState(model)
        self.translation = translation  # the debug mode's, read once the answer is complete
        self.top_logprobs = top_logprobs
        self.choices = [_ChoiceMessage() for _ in range(choices)]

    def add(self, event: ChatEvent, choice: int = 0) -> None:
        message = self.choices[choice]
        if isinstance(event, TextDelta):
            message.text.append(event.text)
        elif isinstance(event, ToolCallStart):
            message.calls[event.index] = {
                "id": self.state.call_id(event, choice),
                "type": "function",
                "function": {"name": event.name, "arguments": ""},
            }
            message.arguments[event.index] = []
        elif isinstance(event, ToolCallArgumentsDelta):
            message.arguments.setdefault(event.index, []).append(event.fragment)
        elif isinstance(event, Logprobs):
            message.logprobs.extend(event.tokens)
        else:
            message.finished = event

    def result(self) -> dict[str, Any]:
        finished = [message.finished for message in self.choices]
        assert all(finished), "the generation ended without Finished"
        state = self.state
        body: dict[str, Any] = {
            "id": state.id,
            "object": "chat.completion",
            "created": state.created,
            "model": state.model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": index,
                    "message": message.message(),
                    "logprobs": None
                    if self.top_logprobs is None
                    else {
                        "content": logprobs_content(message.logprobs, self.top_logprobs),
                        "refusal": None,
                    },
                    "finish_reason": message.finished.reason if message.finished else None,
                }
                for index, message in enumerate(self.choices)
            ],
            "usage": usage_dict(summed_usage([f.usage for f in finished if f is not None])),
        }
        if self.translation is not None:
            body["inferstack_debug"] = self.translation.as_dict()
        return body


class ChatChunkRenderer:
    """Renders events as SSE `chat.completion.chunk` lines (streaming), of `choices`
    choices: each chunk names its choice's index, and the stream ends (usage, [DONE]) once
    every choice has finished."""

    def __init__(
        self,
        model: str,
        include_usage: bool,
        translation: TranslationCapture | None = None,
        top_logprobs: int | None = None,
        choices: int = 1,
    ) -> None:
        self.state = ChatResponseState(model)
        self.include_usage = include_usage
        self.translation = translation  # the debug mode's, sent as an event before [DONE]
        self.top_logprobs = top_logprobs  # None: logprobs were not asked for
        # Logprobs arrive just before their text: they ride on the choice's next chunk.
        self._pending_logprobs: list[list[TokenLogprob]] = [[] for _ in range(choices)]
        self._usages: list[Usage] = []
        self._choices = choices

    def _chunk(
        self, delta: dict[str, Any], finish_reason: str | None = None, choice: int = 0
    ) -> bytes:
        state = self.state
        logprobs = None
        pending = self._pending_logprobs[choice]
        if pending and self.top_logprobs is not None:
            logprobs = {"content": logprobs_content(pending, self.top_logprobs), "refusal": None}
            self._pending_logprobs[choice] = []
        payload: dict[str, Any] = {
            "id": state.id,
            "object": "chat.completion.chunk",
            "created": state.created,
            "model": state.model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": choice,
                    "delta": delta,
                    "logprobs": logprobs,
                    "finish_reason": finish_reason,
                }
            ],
        }
        if self.include_usage:
            payload["usage"] = None
        return sse(payload)

    def opening(self) -> bytes:
        return b"".join(
            self._chunk({"role": "assistant", "content": ""}, choice=choice)
            for choice in range(self._choices)
        )

    def render_choice(self, choice_event: ChoiceEvent) -> bytes:
        return self.render(choice_event.event, choice_event.index)

    def render(self, event: ChatEvent, choice: int = 0) -> bytes:
        if isinstance(event, TextDelta):
            return self._chunk({"content": event.text}, choice=choice)
        if isinstance(event, ToolCallStart):
            call = {
                "index": event.index,
                "id": self.state.call_id(event, choice),
                "type": "function",
                "function": {"name": event.name, "arguments": ""},
            }
            return self._chunk({"tool_calls": [call]}, choice=choice)
        if isinstance(event, ToolCallArgumentsDelta):
            call = {"index": event.index, "function": {"arguments": event.fragment}}
            return self._chunk({"tool_calls": [call]}, choice=choice)
        if isinstance(event, Logprobs):
            self._pending_logprobs[choice].extend(event.tokens)
            return b""
        closing = self._chunk({}, finish_reason=event.reason, choice=choice)
        self._usages.append(event.usage)
        if len(self._usages) < self._choices:
            return closing
        if self.include_usage:
            state = self.state
            envelope = {
                "id": state.id,
                "object": "chat.completion.chunk",
                "created": state.created,
                "model": state.model,
                "system_fingerprint": None,
            }
            closing += sse(with_usage(envelope, summed_usage(self._usages)))
        if self.translation is not None:
            closing += sse(debug_event(self.state.id, self.translation))
        return closing + SSE_DONE

    @staticmethod
    def render_error(error: InferstackError) -> bytes:
        # The openai SDK raises APIError on a data event carrying "error".
        return sse(error_body(error)) + SSE_DONE
