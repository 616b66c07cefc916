"""Render chat events as the Responses API's Response object, or as its stream of events.

`ResponseOutput` is the one state machine: it folds events into output items (a message
for each run of text, a function_call for each tool call), owns their ids, and returns the
stream events each domain event makes. A non-streamed response is the same fold with the
events dropped (`assemble`); `ResponseStreamRenderer` numbers them and frames them as SSE.

A stream goes: response.created, response.in_progress; per item output_item.added, then a
message's content_part.added, output_text.delta..., output_text.done, content_part.done, or
a call's function_call_arguments.delta..., function_call_arguments.done; output_item.done;
and last response.completed, or response.incomplete (max_output_tokens reached), or
response.failed (an error after the stream began). No `[DONE]`: OpenAI sends none.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from typing import Any, Literal

from api_server.chat.events import (
    ChatEvent,
    Finished,
    Logprobs,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
)
from api_server.errors import InferstackError
from api_server.openai.render import client_tool_call_id
from api_server.sse import sse_event

StreamEvent = dict[str, Any]
ItemStatus = Literal["in_progress", "completed", "incomplete"]


def new_id(prefix: str) -> str:
    """An OpenAI-style object id: `resp_…`, `msg_…`, `fc_…`."""
    return f"{prefix}_{secrets.token_hex(24)}"


def usage_dict(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens,
    }


def error_code(error: InferstackError) -> str:
    """A failed response's `error.code`, from the few OpenAI defines."""
    if error.status_code == 429:
        return "rate_limit_exceeded"
    return "server_error"


@dataclass
class _Item:
    kind: Literal["message", "function_call"]
    id: str
    output_index: int
    parts: list[str] = field(default_factory=list)
    call_id: str = ""
    name: str = ""
    status: ItemStatus = "in_progress"
    announced: bool = False  # its output_item.added was made
    done: bool = False  # its output_item.done was made

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def text_part(self) -> dict[str, Any]:
        return {"type": "output_text", "text": self.text, "annotations": [], "logprobs": []}

    def as_dict(self, status: ItemStatus | None = None) -> dict[str, Any]:
        """The item as it is now, or as it was when announced (`status` "in_progress")."""
        status = status or self.status
        if self.kind == "message":
            content = [] if status == "in_progress" else [self.text_part()]
            return {
                "id": self.id,
                "type": "message",
                "status": status,
                "role": "assistant",
                "content": content,
            }
        return {
            "id": self.id,
            "type": "function_call",
            "status": status,
            "call_id": self.call_id,
            "name": self.name,
            "arguments": self.text,
        }


class ResponseOutput:
    """One response: its identity, its output items as events fold into them, and the
    stream events each step makes. `echo` is what the Response object repeats of the
    request (see translate.request_echo)."""

    def __init__(self, model: str, echo: dict[str, Any], response_id: str | None = None) -> None:
        self.id = response_id or new_id("resp")
        self.created_at = int(time.time())
        self.model = model
        self.echo = echo
        self.items: list[_Item] = []
        self._open: _Item | None = None
        self._calls: dict[int, _Item] = {}  # a tool call's index -> its item
        self.final: dict[str, Any] | None = None  # the Response object, once finished

    def response(
        self,
        status: str,
        *,
        usage: Usage | None = None,
        incomplete_reason: str | None = None,
        error: dict[str, Any] | None = None,
        completed_at: int | None = None,
    ) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": False,
            "completed_at": completed_at,
            "error": error,
            "incomplete_details": (
                {"reason": incomplete_reason} if incomplete_reason is not None else None
            ),
            "model": self.model,
            "output": [item.as_dict() for item in self.items],
            "usage": usage_dict(usage) if usage is not None else None,
            **self.echo,
        }

    def opening(self) -> list[StreamEvent]:
        shell = self.response("in_progress")
        return [
            {"type": "response.created", "response": shell},
            {"type": "response.in_progress", "response": shell},
        ]

    def add(self, event: ChatEvent) -> list[StreamEvent]:
        if isinstance(event, TextDelta):
            return self._text(event.text)
        if isinstance(event, ToolCallStart):
            events = self._close("completed")
            item = self._start("function_call")
            item.call_id = client_tool_call_id(event.model_id)
            item.name = event.name
            self._calls[event.index] = item
            return [*events, self._added(item)]
        if isinstance(event, ToolCallArgumentsDelta):
            return self._arguments(event)
        if isinstance(event, Logprobs):
            return []  # only made when asked for, and top_logprobs is refused here
        return self._finish(event)

    def finish(self, finished: Finished) -> dict[str, Any]:
        """The Response object this response ends as (the same on every call): what the
        service stores before the stream says it is complete."""
        if self.final is None:
            length = finished.reason == "length"
            status: ItemStatus = "incomplete" if length else "completed"
            if not self.items:
                self._start("message")  # an empty answer is still one (empty) message
            if self._open is not None:
                self._open.status = status
            for item in self.items:
                if item.status == "in_progress":
                    item.status = "completed"
            self.final = self.response(
                status,
                usage=finished.usage,
                incomplete_reason="max_output_tokens" if length else None,
                completed_at=None if length else int(time.time()),
            )
        return self.final

    def failed(self, error: InferstackError) -> list[StreamEvent]:
        """The end of a stream that failed after it began: the items it announced, those
        it had not finished incomplete (even if finish() had been called, and the end
        then failed to be stored)."""
        self.items = [item for item in self.items if item.announced]
        for item in self.items:
            if not item.done:
                item.status = "incomplete"
        body = {"code": error_code(error), "message": error.message}
        return [{"type": "response.failed", "response": self.response("failed", error=body)}]

    def _text(self, text: str) -> list[StreamEvent]:
        if not text:
            return []
        events: list[StreamEvent] = []
        item = self._open
        if item is None or item.kind != "message":
            events = self._close("completed")
            item = self._start("message")
            events += self._message_opened(item)
        item.parts.append(text)
        delta = {**self._where(item), "content_index": 0, "delta": text, "logprobs": []}
        return [*events, {"type": "response.output_text.delta", **delta}]

    def _arguments(self, event: ToolCallArgumentsDelta) -> list[StreamEvent]:
        item = self._calls.get(event.index)
        if item is None or not event.fragment:
            return []
        # Parsers and the tool-call rules send a call's fragments before anything after it.
        item.parts.append(event.fragment)
        delta = {**self._where(item), "delta": event.fragment}
        return [{"type": "response.function_call_arguments.delta", **delta}]

    def _finish(self, finished: Finished) -> list[StreamEvent]:
        final = self.finish(finished)
        item, self._open = self._open, None
        events: list[StreamEvent] = []
        if item is not None:
            if not item.announced:  # the empty message finish() made
                events += self._message_opened(item)
            events += self._done(item)
        kind = "response.incomplete" if final["status"] == "incomplete" else "response.completed"
        return [*events, {"type": kind, "response": final}]

    def _start(self, kind: Literal["message", "function_call"]) -> _Item:
        prefix = "msg" if kind == "message" else "fc"
        item = _Item(kind, new_id(prefix), len(self.items))
        self.items.append(item)
        self._open = item
        return item

    def _close(self, status: ItemStatus) -> list[StreamEvent]:
        item, self._open = self._open, None
        if item is None:
            return []
        item.status = status
        return self._done(item)

    def _message_opened(self, item: _Item) -> list[StreamEvent]:
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        added = {"type": "response.content_part.added", **self._where(item), "content_index": 0}
        return [self._added(item), {**added, "part": part}]

    def _added(self, item: _Item) -> StreamEvent:
        item.announced = True
        added = {"type": "response.output_item.added", "output_index": item.output_index}
        return {**added, "item": item.as_dict("in_progress")}

    def _done(self, item: _Item) -> list[StreamEvent]:
        item.done = True
        where = self._where(item)
        if item.kind == "message":
            text = {**where, "content_index": 0, "text": item.text, "logprobs": []}
            part = {**where, "content_index": 0, "part": item.text_part()}
            events = [
                {"type": "response.output_text.done", **text},
                {"type": "response.content_part.done", **part},
            ]
        else:
            arguments = {**where, "arguments": item.text}
            events = [{"type": "response.function_call_arguments.done", **arguments}]
        done = {"type": "response.output_item.done", "output_index": item.output_index}
        return [*events, {**done, "item": item.as_dict()}]

    @staticmethod
    def _where(item: _Item) -> dict[str, Any]:
        return {"item_id": item.id, "output_index": item.output_index}


async def assemble(output: ResponseOutput, events: AsyncIterable[ChatEvent]) -> dict[str, Any]:
    """The Response object of a generation (not streamed)."""
    async for event in events:
        output.add(event)
    assert output.final is not None, "the generation ended without Finished"
    return output.final


class ResponseStreamRenderer:
    """The events of one response as server-sent events, numbered from 0."""

    def __init__(self, output: ResponseOutput) -> None:
        self.output = output
        self._sequence = 0

    def opening(self) -> bytes:
        return self._frame(self.output.opening())

    def render(self, event: ChatEvent) -> bytes:
        return self._frame(self.output.add(event))

    def render_error(self, error: InferstackError) -> bytes:
        return self._frame(self.output.failed(error))

    def _frame(self, events: list[StreamEvent]) -> bytes:
        framed = []
        for event in events:
            framed.append(sse_event(event["type"], {**event, "sequence_number": self._sequence}))
            self._sequence += 1
        return b"".join(framed)
