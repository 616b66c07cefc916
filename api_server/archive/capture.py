"""What the archive keeps of one request: the body as received and the response as the
client got it. The tracker creates a capture only when archiving is on, so requests pay
nothing for it otherwise; the JSON is built later, by the archive writer."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from api_server.chat.events import ChatEvent, Finished, Logprobs, ParserEvent
from api_server.errors import InferstackError
from api_server.generation.translation import TranslationCapture
from api_server.logs.record import RequestLogRecord
from api_server.tools.collect import collect


@dataclass(slots=True)
class PayloadCapture:
    body: bytes
    events: list[ParserEvent] = field(default_factory=list)
    finished: Finished | None = None
    # A non-streaming response object exactly as sent; streams are assembled from events.
    response: dict[str, Any] | None = None
    # The translation debug mode's, for a stream (a JSON response already holds it).
    translation: TranslationCapture | None = None

    async def observe(
        self, events: AsyncGenerator[ChatEvent, None]
    ) -> AsyncGenerator[ChatEvent, None]:
        """Pass `events` through, keeping each one."""
        try:
            async for event in events:
                if isinstance(event, Finished):
                    self.finished = event
                elif not isinstance(event, Logprobs):  # the archive keeps the answer itself
                    self.events.append(event)
                yield event
        finally:
            await events.aclose()  # close the engine stream now, not at garbage collection

    def entry(
        self, key: str, record: RequestLogRecord, error: BaseException | None
    ) -> ArchiveEntry:
        failure = None
        if error is not None:
            message = error.message if isinstance(error, InferstackError) else str(error)
            failure = {"type": record.error_type, "message": message}
        return ArchiveEntry(
            key=key,
            request_id=record.id,
            received_at=record.received_at,
            endpoint=record.endpoint,
            model=record.model,
            stream=record.stream,
            status_code=record.status_code,
            body=self.body,
            response=self.response,
            events=self.events,
            finished=self.finished,
            error=failure,
            translation=self.translation.as_dict() if self.translation else None,
        )


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    """One request's archive object, not yet serialized."""

    key: str
    request_id: str
    received_at: datetime
    endpoint: str
    model: str | None
    stream: bool
    status_code: int | None
    body: bytes
    response: dict[str, Any] | None
    events: list[ParserEvent]
    finished: Finished | None
    error: dict[str, Any] | None
    translation: dict[str, Any] | None = None

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "id": self.request_id,
                "received_at": self.received_at,
                "endpoint": self.endpoint,
                "model": self.model,
                "stream": self.stream,
                "status_code": self.status_code,
                "request": _request_json(self.body),
                "response": self.response if self.response is not None else self._assembled(),
                "error": self.error,
            }
        )

    def _assembled(self) -> dict[str, Any] | None:
        """A stream's response: its text, tool calls and usage, as the client received them."""
        if not self.events and self.finished is None:
            return None
        output = collect(self.events)
        finished = self.finished
        assembled: dict[str, Any] = {
            "content": output.content,
            "tool_calls": [
                {"name": call.name, "arguments": call.arguments} for call in output.calls
            ],
            "finish_reason": finished.reason if finished else None,
            "usage": None
            if finished is None
            else {
                "prompt_tokens": finished.usage.prompt_tokens,
                "completion_tokens": finished.usage.completion_tokens,
                "total_tokens": finished.usage.total_tokens,
            },
        }
        if self.translation is not None:
            assembled["inferstack_debug"] = self.translation  # as the stream's debug event
        return assembled


def _request_json(body: bytes) -> Any:
    """The request as JSON; a body that is not JSON (a refused request) is kept as text."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace")
