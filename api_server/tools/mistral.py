"""Tool calls in the Mistral syntaxes, told apart by what follows `[TOOL_CALLS]`.

    v3/v7:     [TOOL_CALLS][{"name": "f", "arguments": {...}, "id": "abc123XYZ"}, ...]
    v11:       [TOOL_CALLS]f[CALL_ID]abc123XYZ[ARGS]{...}
    v13:       [TOOL_CALLS]f[ARGS]{...}[TOOL_CALLS]g[ARGS]{...}

Text before `[TOOL_CALLS]` is content. In the array form the model writes its id after the
arguments, so a call starts only once its id (or its end) is read and its arguments come in
one fragment; the `[ARGS]` forms stream. A marker not followed by a well-formed call is
content as written; blanks after a call are dropped.
"""

from __future__ import annotations

import re
from enum import Enum, auto

from api_server.chat.events import ParserEvent, ToolCallArgumentsDelta, ToolCallStart
from api_server.tools._call_object import CallObjectReader
from api_server.tools._scan import (
    WHITESPACE,
    BufferedParser,
    JsonValueScanner,
    append_text,
    could_become,
    split_at_marker,
)

TOOL_CALLS = "[TOOL_CALLS]"
ARGS = "[ARGS]"
CALL_ID = "[CALL_ID]"
_NAME = re.compile(r"[A-Za-z0-9_.\-]*")
_ID = re.compile(r"[A-Za-z0-9_\-]*")


class _State(Enum):
    TEXT = auto()
    AFTER_MARKER = auto()
    ARRAY = auto()  # inside [...]: call objects, commas, or the closing bracket
    CALL = auto()  # a JSON call object, in the array or bare
    NAME = auto()  # [TOOL_CALLS]name...
    CALL_ID = auto()  # [CALL_ID]id...
    ARGS = auto()  # after [ARGS], before the arguments object
    ARGS_BODY = auto()  # streaming the arguments object
    AFTER_CALL = auto()


class MistralToolParser(BufferedParser):
    def __init__(self) -> None:
        self._state = _State.TEXT
        super().__init__()
        self._raw = ""  # read since the last emitted event, restored if no call follows
        self._next_index = 0
        self._in_array = False
        self._name = ""
        self._model_id: str | None = None
        self._reader = CallObjectReader(0)
        self._scanner = JsonValueScanner()

    def finish(self) -> list[ParserEvent]:
        events: list[ParserEvent] = []
        state = self._state
        if state is _State.TEXT:
            append_text(events, self._buffer)
        elif state is _State.CALL:
            events.extend(self._reader.finish())
            if self._reader.failed and not self._reader.started:
                self._restore_raw(events, self._reader.raw)
        elif state not in (_State.ARGS_BODY, _State.AFTER_CALL):
            self._restore_raw(events, self._buffer)
        self._buffer = ""
        return events

    def _step(self, events: list[ParserEvent]) -> bool:
        state = self._state
        if state is _State.TEXT:
            before, marker, self._buffer = split_at_marker(self._buffer, (TOOL_CALLS,))
            append_text(events, before)
            if marker is not None:
                self._raw, self._state, self._in_array = marker, _State.AFTER_MARKER, False
            return marker is not None
        if state is _State.CALL:
            return self._step_call(events)
        if state is _State.ARGS_BODY:
            return self._step_args_body(events)
        if state in (_State.NAME, _State.CALL_ID):
            return self._step_name_or_id(events)
        blanks = WHITESPACE + "," if state is _State.ARRAY else WHITESPACE
        rest = self._buffer.lstrip(blanks)
        if not rest:
            return False
        self._consume(len(self._buffer) - len(rest))
        first = rest[0]
        if state is _State.AFTER_CALL:
            self._raw, self._state = "", _State.TEXT
        elif state is _State.AFTER_MARKER and first == "[":
            self._consume(1)
            self._in_array, self._state = True, _State.ARRAY
        elif state in (_State.AFTER_MARKER, _State.ARRAY) and first == "{":
            self._reader = CallObjectReader(self._next_index, wait_for_id=True)
            self._state = _State.CALL
        elif state is _State.AFTER_MARKER:
            self._name, self._model_id, self._state = "", None, _State.NAME
        elif state is _State.ARRAY and first == "]":
            self._consume(1)
            self._state = _State.AFTER_CALL
        elif state is _State.ARGS and first == "{":
            events.append(ToolCallStart(self._next_index, self._name, self._model_id))
            self._scanner, self._state = JsonValueScanner(), _State.ARGS_BODY
        else:
            self._restore_raw(events, "")
        return True

    def _step_name_or_id(self, events: list[ParserEvent]) -> bool:
        pattern = _NAME if self._state is _State.NAME else _ID
        end = pattern.match(self._buffer)
        assert end is not None  # the patterns match the empty string
        part = end.group()
        self._consume(len(part))
        if self._state is _State.NAME:
            self._name += part
        else:
            self._model_id = (self._model_id or "") + part
        if not self._buffer:
            return False
        follow = (ARGS, CALL_ID) if self._state is _State.NAME else (ARGS,)
        marker = next((m for m in follow if self._buffer.startswith(m)), None)
        if marker is not None and self._name:
            self._consume(len(marker))
            self._state = _State.ARGS if marker == ARGS else _State.CALL_ID
            return True
        if marker is None and could_become(self._buffer, follow):
            return False
        self._restore_raw(events, "")
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
            self._raw = ""
            self._state = _State.ARRAY if self._in_array else _State.AFTER_CALL
        else:
            self._restore_raw(events, reader.raw)
        return True

    def _step_args_body(self, events: list[ParserEvent]) -> bool:
        if not self._buffer:
            return False
        end = self._scanner.feed(self._buffer)
        stop = len(self._buffer) if end is None else end
        events.append(ToolCallArgumentsDelta(self._next_index, self._buffer[:stop]))
        self._buffer = self._buffer[stop:]
        if end is None:
            return False
        self._next_index += 1
        self._raw, self._state = "", _State.AFTER_CALL
        return True

    def _consume(self, count: int) -> None:
        self._raw += self._buffer[:count]
        self._buffer = self._buffer[count:]

    def _restore_raw(self, events: list[ParserEvent], extra: str) -> None:
        """No call here after all: what was read since the last event becomes content again.

        Separators left over after a completed call in an array are dropped, not restored.
        """
        raw = self._raw + extra
        if raw.strip(WHITESPACE + ",") or not self._in_array:
            append_text(events, raw)
        self._raw, self._in_array, self._state = "", False, _State.TEXT
