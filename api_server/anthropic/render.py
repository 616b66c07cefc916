"""Render chat events as Anthropic messages: one `message` object, or the SSE event stream
(message_start, content_block_start/delta/stop, ping, message_delta, message_stop).

Both fold events through `MessageBlocks`, which decides where content blocks start and end
and owns the ids; they differ only in when they emit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from api_server.anthropic.errors import anthropic_error_body
from api_server.anthropic.tool_names import ToolNameMap
from api_server.chat.events import (
    ChatEvent,
    Finished,
    FinishReason,
    Logprobs,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
)
from api_server.errors import InferstackError
from api_server.sse import sse_event
from api_server.tools.collect import arguments_object

StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use"]

_STOP_REASONS: dict[FinishReason, StopReason] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
}


def stop_reason(finished: Finished) -> tuple[StopReason, str | None]:
    """Anthropic's stop_reason and stop_sequence for how a generation ended."""
    if finished.reason == "stop" and finished.stop_sequence is not None:
        return "stop_sequence", finished.stop_sequence
    return _STOP_REASONS[finished.reason], None


def usage_dict(usage: Usage) -> dict[str, int]:
    return {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens}


def new_message_id() -> str:
    return f"msg_{secrets.token_hex(12)}"


def new_tool_use_id() -> str:
    return f"toolu_{secrets.token_hex(12)}"


@dataclass
class _Block:
    kind: Literal["text", "tool_use"]
    payload: dict[str, Any]
    parts: list[str] = field(default_factory=list)


@dataclass
class MessageBlocks:
    """Content blocks in output order: consecutive text shares one block, each tool call
    gets its own. Each `add` returns the (event type, payload) pairs a stream would send."""

    names: ToolNameMap
    blocks: list[_Block] = field(default_factory=list)
    _open: int | None = None
    _by_call: dict[int, int] = field(default_factory=dict)  # call index -> block index

    def add(self, event: TextDelta | ToolCallStart | ToolCallArgumentsDelta) -> list[Any]:
        if isinstance(event, TextDelta):
            if not event.text:
                return []
            events = [] if self._is_open("text") else self._start("text", {"text": ""})
            self.blocks[-1].parts.append(event.text)
            delta = {"type": "text_delta", "text": event.text}
            return [*events, self._delta(len(self.blocks) - 1, delta)]
        if isinstance(event, ToolCallStart):
            payload = {
                "id": new_tool_use_id(),
                "name": self.names.client_name(event.name),
                "input": {},
            }
            events = self._start("tool_use", payload)
            self._by_call[event.index] = len(self.blocks) - 1
            return events
        index = self._by_call.get(event.index)
        if index is None or not event.fragment:
            return []
        self.blocks[index].parts.append(event.fragment)
        return [self._delta(index, {"type": "input_json_delta", "partial_json": event.fragment})]

    def close(self) -> list[Any]:
        if self._open is None:
            return []
        index, self._open = self._open, None
        return [("content_block_stop", {"type": "content_block_stop", "index": index})]

    def content(self) -> list[dict[str, Any]]:
        rendered: list[dict[str, Any]] = []
        for block in self.blocks:
            if block.kind == "text":
                rendered.append({"type": "text", "text": "".join(block.parts)})
            else:
                rendered.append(
                    {"type": "tool_use", **block.payload, "input": arguments_object(block.parts)}
                )
        return rendered

    def _is_open(self, kind: str) -> bool:
        return self._open is not None and self.blocks[self._open].kind == kind

    def _start(self, kind: Literal["text", "tool_use"], payload: dict[str, Any]) -> list[Any]:
        events = self.close()
        self.blocks.append(_Block(kind, payload))
        self._open = len(self.blocks) - 1
        start = {
            "type": "content_block_start",
            "index": self._open,
            "content_block": {"type": kind, **payload},
        }
        return [*events, ("content_block_start", start)]

    @staticmethod
    def _delta(index: int, delta: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return (
            "content_block_delta",
            {"type": "content_block_delta", "index": index, "delta": delta},
        )


class _MessageShell:
    def __init__(self, model: str, names: ToolNameMap) -> None:
        self.id = new_message_id()
        self.model = model
        self.blocks = MessageBlocks(names)

    def message(self, content: list[dict[str, Any]], finished: Finished | None) -> dict[str, Any]:
        reason, sequence = stop_reason(finished) if finished else (None, None)
        usage = finished.usage if finished else Usage(prompt_tokens=0, completion_tokens=0)
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": reason,
            "stop_sequence": sequence,
            "usage": usage_dict(usage),
        }


class MessageAssembler(_MessageShell):
    """Folds events into one `message` object (non-streaming)."""

    finished: Finished | None = None

    def add(self, event: ChatEvent) -> None:
        if isinstance(event, Finished):
            self.finished = event
        elif not isinstance(event, Logprobs):  # Anthropic's API has none
            self.blocks.add(event)

    def result(self) -> dict[str, Any]:
        assert self.finished is not None, "the generation ended without Finished"
        return self.message(self.blocks.content(), self.finished)


class MessageStreamRenderer(_MessageShell):
    """Renders events as Anthropic's SSE events (streaming)."""

    _pinged = False

    def opening(self) -> bytes:
        # The prompt's token count comes with the engine's last chunk: message_start says 0
        # and message_delta carries the count, as a cumulative total the SDK picks up.
        return sse_event(
            "message_start", {"type": "message_start", "message": self.message([], None)}
        )

    def render(self, event: ChatEvent) -> bytes:
        if isinstance(event, Finished):
            pairs = [*self.blocks.close(), *self._ping()]
            reason, sequence = stop_reason(event)
            pairs.append(
                (
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": reason, "stop_sequence": sequence},
                        "usage": usage_dict(event.usage),
                    },
                )
            )
            pairs.append(("message_stop", {"type": "message_stop"}))
        elif isinstance(event, Logprobs):  # Anthropic's API has none
            return b""
        else:
            pairs = self._after_first_start(self.blocks.add(event))
        return b"".join(sse_event(kind, payload) for kind, payload in pairs)

    def _after_first_start(self, pairs: list[Any]) -> list[Any]:
        """Anthropic sends one ping right after the first content_block_start."""
        if self._pinged:
            return pairs
        for position, (kind, _) in enumerate(pairs):
            if kind == "content_block_start":
                return [*pairs[: position + 1], *self._ping(), *pairs[position + 1 :]]
        return pairs

    def _ping(self) -> list[Any]:
        if self._pinged:
            return []
        self._pinged = True
        return [("ping", {"type": "ping"})]

    @staticmethod
    def render_error(error: InferstackError) -> bytes:
        # The anthropic SDK raises an APIStatusError on an `error` event.
        return sse_event("error", anthropic_error_body(error))
