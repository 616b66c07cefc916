"""Tool calls in the Hermes / ChatML / Qwen syntax.

    Let me check.
    <tool_call>
    {"name": "get_weather", "arguments": {"city": "Paris"}}
    </tool_call>

Text outside the tags is content. Between a completed call object and `</tool_call>` anything
is dropped (Qwen sometimes doubles the closing brace); whitespace after `</tool_call>` too,
so parallel calls leave no stray newlines in the content.
"""

from __future__ import annotations

from enum import Enum, auto

from api_server.chat.events import ParserEvent
from api_server.tools._call_object import CallObjectReader
from api_server.tools._scan import (
    WHITESPACE,
    BufferedParser,
    append_text,
    could_become,
    split_at_marker,
)

OPEN_TAG = "<tool_call>"
CLOSE_TAG = "</tool_call>"


class _State(Enum):
    TEXT = auto()
    CALL = auto()
    BEFORE_CLOSE = auto()  # the call object ended; expecting </tool_call>
    SKIP = auto()  # junk after a call: dropped up to </tool_call>
    AFTER_CLOSE = auto()  # whitespace after </tool_call> is dropped


class HermesToolParser(BufferedParser):
    def __init__(self) -> None:
        self._state = _State.TEXT
        super().__init__()
        self._next_index = 0
        self._reader = CallObjectReader(0)

    def finish(self) -> list[ParserEvent]:
        events: list[ParserEvent] = []
        if self._state is _State.TEXT:
            append_text(events, self._buffer)
        elif self._state is _State.CALL:
            events.extend(self._reader.finish())
            if self._reader.failed and not self._reader.started:
                append_text(events, OPEN_TAG + self._reader.raw)
        self._buffer = ""
        return events

    def _step(self, events: list[ParserEvent]) -> bool:
        state = self._state
        if state is _State.TEXT:
            before, marker, self._buffer = split_at_marker(self._buffer, (OPEN_TAG,))
            append_text(events, before)
            if marker is None:
                return False
            self._begin_call()
            return True
        if state is _State.CALL:
            return self._step_call(events)
        if state in (_State.BEFORE_CLOSE, _State.AFTER_CLOSE):
            self._buffer = self._buffer.lstrip(WHITESPACE)
            if not self._buffer:
                return False
            if state is _State.AFTER_CLOSE:
                self._state = _State.TEXT
            elif self._buffer.startswith(CLOSE_TAG):
                self._buffer = self._buffer[len(CLOSE_TAG) :]
                self._state = _State.AFTER_CLOSE
            elif could_become(self._buffer, (CLOSE_TAG,)):
                return False
            else:
                self._state = _State.SKIP
            return True
        # SKIP: a new call may open before the close tag ever comes.
        _, marker, self._buffer = split_at_marker(self._buffer, (OPEN_TAG, CLOSE_TAG))
        if marker == OPEN_TAG:
            self._begin_call()
        elif marker == CLOSE_TAG:
            self._state = _State.AFTER_CLOSE
        return marker is not None

    def _begin_call(self) -> None:
        self._reader = CallObjectReader(self._next_index)
        self._state = _State.CALL

    def _step_call(self, events: list[ParserEvent]) -> bool:
        if not self._buffer:
            return False
        reader = self._reader
        self._buffer = reader.read(self._buffer, events)
        if not reader.ended:
            return False
        if reader.started:
            self._next_index += 1
            self._state = _State.BEFORE_CLOSE
        else:
            # Not a call after all: what was read goes back out as content.
            append_text(events, OPEN_TAG + reader.raw)
            self._state = _State.TEXT
        return True
