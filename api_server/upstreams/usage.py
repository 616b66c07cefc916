"""Token usage read off a relayed response, OpenAI's or Anthropic's, JSON or SSE, without
holding the stream back: complete SSE lines that mention usage are parsed as they pass,
and so are those that end a stream (a finish_reason, `[DONE]`, `message_stop`; or an
error event, which the client has then seen): a stream without one was cut off."""

from __future__ import annotations

from typing import Any

import orjson

from api_server.chat.events import Usage

_MAX_JSON_BYTES = 4 * 1024 * 1024  # a bigger non-streamed body is relayed, its usage unread
# What an SSE data line must mention to be worth parsing.
_MARKS = (b'"usage"', b'"finish_reason"', b"message_stop", b'"error"')


class UsageSniffer:
    def __init__(self, streaming: bool) -> None:
        self.streaming = streaming
        self._pending = bytearray()
        self._prompt = 0
        self._completion = 0
        self._seen = False
        self.ended = False  # the stream said it was complete
        self.failed: str | None = None  # the upstream's own mid-stream error, relayed as sent

    def feed(self, piece: bytes) -> None:
        if not self.streaming:
            if len(self._pending) + len(piece) <= _MAX_JSON_BYTES:
                self._pending += piece
            return
        self._pending += piece
        if b"\n" not in piece:
            return
        *lines, rest = bytes(self._pending).split(b"\n")
        self._pending = bytearray(rest)
        for line in lines:
            self._line(line)

    def usage(self) -> Usage | None:
        if not self.streaming and self._pending:
            self._read(bytes(self._pending))
            self._pending.clear()
        return Usage(self._prompt, self._completion) if self._seen else None

    def _line(self, line: bytes) -> None:
        if not line.startswith(b"data:"):
            return
        data = line[5:].strip()
        if data == b"[DONE]":
            self.ended = True
        elif any(mark in data for mark in _MARKS):
            self._read(data)

    def _read(self, data: bytes) -> None:
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if isinstance(payload, dict):
            self._note_end(payload)
            self._take(payload)

    def _note_end(self, payload: dict[str, Any]) -> None:
        error = payload.get("error")
        if error is not None and self.failed is None:
            # Anthropic's `error` event, or an OpenAI-style error object mid-stream.
            message = error.get("message") if isinstance(error, dict) else None
            self.failed = str(message or error)
        if payload.get("type") == "message_stop":
            self.ended = True  # Anthropic's last event
        choices = payload.get("choices")
        if isinstance(choices, list) and any(
            isinstance(choice, dict) and choice.get("finish_reason") for choice in choices
        ):
            self.ended = True  # OpenAI's last content chunk ([DONE] follows)

    def _take(self, payload: dict[str, Any]) -> None:
        message = payload.get("message")
        usage = payload.get("usage")
        if not isinstance(usage, dict) and isinstance(message, dict):
            usage = message.get("usage")  # Anthropic's message_start
        if not isinstance(usage, dict):
            return
        self._seen = True
        prompt = sum(
            int(usage.get(key) or 0)
            for key in (
                "prompt_tokens",
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
            )
        )
        completion = int(usage.get("completion_tokens") or usage.get("output_tokens") or 0)
        # Anthropic reports input in message_start and the output count grows per delta.
        self._prompt = max(self._prompt, prompt)
        self._completion = max(self._completion, completion)
