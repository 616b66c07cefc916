"""Tool calls in the Llama 3.1 / 3.3 JSON syntax.

    <|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": ...}

Llama only calls tools at the start of its turn, so output that does not begin (after
whitespace) with `<|python_tag|>` or `{` is plain content from the first char on. Calls are
separated by `;` or newlines; text after the last call is content. `<|python_tag|>` followed by
something other than a JSON object is code for Llama's built-in interpreter, which this
gateway does not run: it becomes content with the tag removed. A leading JSON object that is
not a call (no "name" or no "parameters"/"arguments") is content as written.
"""

from __future__ import annotations

from enum import Enum, auto

from api_server.chat.events import ParserEvent
from api_server.tools._call_object import CallObjectReader
from api_server.tools._scan import WHITESPACE, BufferedParser, append_text, could_become

PYTHON_TAG = "<|python_tag|>"
_SEPARATORS = WHITESPACE + ";"


class _State(Enum):
    START = auto()  # before the first call: deciding whether this is a call at all
    AFTER_TAG = auto()  # after <|python_tag|>: a JSON call or interpreter code
    CALL = auto()
    BETWEEN = auto()  # after a call: separators, another call, or trailing content
    TEXT = auto()  # plain content to the end


class Llama3JsonToolParser(BufferedParser):
    def __init__(self) -> None:
        self._state = _State.START
        super().__init__()
        self._skipped = ""  # blanks read before a call, restored if it is not one
        self._next_index = 0
        self._reader = CallObjectReader(0, require_arguments=True)

    def finish(self) -> list[ParserEvent]:
        events: list[ParserEvent] = []
        if self._state is _State.CALL:
            events.extend(self._reader.finish())
            if self._reader.failed and not self._reader.started:
                append_text(events, self._skipped + self._reader.raw)
        else:
            append_text(events, self._skipped + self._buffer)
        self._buffer = ""
        return events

    def _step(self, events: list[ParserEvent]) -> bool:
        state = self._state
        if state is _State.TEXT:
            append_text(events, self._buffer)
            self._buffer = ""
            return False
        if state is _State.CALL:
            return self._step_call(events)
        blanks = _SEPARATORS if state is _State.BETWEEN else WHITESPACE
        rest = self._buffer.lstrip(blanks)
        if not rest:
            return False
        if state is not _State.BETWEEN:
            self._skipped += self._buffer[: len(self._buffer) - len(rest)]
        self._buffer = rest
        if rest.startswith("{"):
            self._reader = CallObjectReader(self._next_index, require_arguments=True)
            self._state = _State.CALL
        elif state is not _State.AFTER_TAG and rest.startswith(PYTHON_TAG):
            self._buffer = rest[len(PYTHON_TAG) :]
            self._state = _State.AFTER_TAG
        elif state is not _State.AFTER_TAG and could_become(rest, (PYTHON_TAG,)):
            return False
        else:
            append_text(events, self._skipped)
            self._skipped = ""
            self._state = _State.TEXT
        return True

    def _step_call(self, events: list[ParserEvent]) -> bool:
        if not self._buffer:
            return False
        reader = self._reader
        self._buffer = reader.read(self._buffer, events)
        if not reader.ended:
            return False
        if reader.started:
            self._next_index += 1
            self._skipped = ""
            self._state = _State.BETWEEN
        else:
            # Not a call after all: what was read goes back out as content.
            append_text(events, self._skipped + reader.raw)
            self._skipped = ""
            self._state = _State.TEXT
        return True
