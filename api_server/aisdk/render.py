"""Render chat events as the AI SDK UI message stream (protocol v1): SSE `data:` lines of
UI message chunks, ending with `data: [DONE]`.

`UIMessageChunks` folds events into chunk dicts (pure, table-tested); the renderer only
encodes them. Text gets one id per run of text; a tool call's `tool-input-available` goes
out once its arguments are complete, when something else starts or the generation ends —
or `tool-input-error`, as the AI SDK's own server sends, when they are not a JSON object
(cut off by max_tokens, or malformed): the v5 `finish` part carries no reason to explain
an empty input.

The gateway runs no tools, so it never sends `tool-output-available`: results arrive with
the next request (tool parts in state `output-available`) and go to the model, and, as in
the AI SDK's `streamText`, a result that came with the request is not sent back. A failure
once the stream is open sends `{"type": "error", "errorText": ...}` then `[DONE]`, with no
`finish`, as `createUIMessageStream` does when its writer fails.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import orjson

from api_server.chat.events import ChatEvent, Finished, Logprobs, TextDelta, ToolCallStart
from api_server.errors import InferstackError
from api_server.openai.render import client_tool_call_id
from api_server.tools.collect import parsed_arguments

STREAM_HEADER = "x-vercel-ai-ui-message-stream"
STREAM_VERSION = "v1"
DONE = b"data: [DONE]\n\n"

Chunk = dict[str, Any]


def sse(chunk: Chunk) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def new_message_id() -> str:
    return f"msg_{secrets.token_hex(12)}"


@dataclass
class _Call:
    id: str
    name: str
    arguments: list[str] = field(default_factory=list)


@dataclass
class UIMessageChunks:
    """The chunks of one assistant message, as events arrive."""

    message_id: str = field(default_factory=new_message_id)
    _text_id: str | None = None
    _texts: int = 0
    _calls: dict[int, _Call] = field(default_factory=dict)
    _open_calls: list[int] = field(default_factory=list)

    def opening(self) -> list[Chunk]:
        return [{"type": "start", "messageId": self.message_id}, {"type": "start-step"}]

    def add(self, event: ChatEvent) -> list[Chunk]:
        if isinstance(event, Logprobs):  # the AI SDK's stream has no place for them
            return []
        if isinstance(event, Finished):
            return [*self._close(), {"type": "finish-step"}, {"type": "finish"}]
        if isinstance(event, TextDelta):
            if not event.text:
                return []
            chunks = [] if self._text_id else self._close()
            if self._text_id is None:
                self._texts += 1
                self._text_id = f"{self.message_id}-text-{self._texts}"
                chunks.append({"type": "text-start", "id": self._text_id})
            chunks.append({"type": "text-delta", "id": self._text_id, "delta": event.text})
            return chunks
        if isinstance(event, ToolCallStart):
            call = _Call(client_tool_call_id(event.model_id), event.name)
            chunks = self._close()
            self._calls[event.index] = call
            self._open_calls.append(event.index)
            chunks.append(
                {"type": "tool-input-start", "toolCallId": call.id, "toolName": call.name}
            )
            return chunks
        open_call = self._calls.get(event.index)
        if open_call is None or not event.fragment:
            return []
        open_call.arguments.append(event.fragment)
        return [
            {
                "type": "tool-input-delta",
                "toolCallId": open_call.id,
                "inputTextDelta": event.fragment,
            }
        ]

    def _close(self) -> list[Chunk]:
        chunks: list[Chunk] = []
        if self._text_id is not None:
            chunks.append({"type": "text-end", "id": self._text_id})
            self._text_id = None
        for index in self._open_calls:
            chunks.append(_input_chunk(self._calls[index]))
        self._open_calls.clear()
        return chunks


def _input_chunk(call: _Call) -> Chunk:
    """The call's complete input, or the error saying its arguments are not an object."""
    identity = {"toolCallId": call.id, "toolName": call.name}
    parsed = parsed_arguments(call.arguments)
    if parsed is not None:
        return {"type": "tool-input-available", **identity, "input": parsed}
    return {
        "type": "tool-input-error",
        **identity,
        "input": "".join(call.arguments),
        "errorText": "The model's tool arguments are not a JSON object (cut off or malformed)",
    }


def error_chunk(error: InferstackError) -> Chunk:
    return {"type": "error", "errorText": error.message}


class UIMessageStreamRenderer:
    def __init__(self) -> None:
        self.chunks = UIMessageChunks()

    def opening(self) -> bytes:
        return b"".join(sse(chunk) for chunk in self.chunks.opening())

    def render(self, event: ChatEvent) -> bytes:
        rendered = b"".join(sse(chunk) for chunk in self.chunks.add(event))
        return rendered + DONE if isinstance(event, Finished) else rendered

    @staticmethod
    def render_error(error: InferstackError) -> bytes:
        return sse(error_chunk(error)) + DONE
