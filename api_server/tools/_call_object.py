"""Incremental reader of one JSON tool-call object: `{"name": "f", "arguments": {...}}`.

Shared by the Hermes, Llama 3 and Mistral (v3/v7) parsers. Keys may come in any order;
"parameters" is accepted for "arguments" (Llama 3), and "id" is kept as the model's call id.
The start of a call is emitted once its name is known and its arguments have begun, so the
arguments object streams fragment by fragment; the outer closing brace is never emitted.
"""

from __future__ import annotations

import json
from enum import Enum, auto

from api_server.chat.events import ParserEvent, ToolCallArgumentsDelta, ToolCallStart
from api_server.tools._scan import WHITESPACE, JsonValueScanner

_ARGUMENT_KEYS = frozenset({"arguments", "parameters"})


class _Phase(Enum):
    OPEN = auto()
    KEY_OR_CLOSE = auto()
    KEY = auto()
    COLON = auto()
    VALUE = auto()
    COMMA_OR_CLOSE = auto()
    FINISHED = auto()


class CallObjectReader:
    """Reads one call object; `done` or `failed` tells how it ended.

    `wait_for_id` defers the start until the "id" is read or the object closes, because
    Mistral writes the id after the arguments: those arguments then arrive in one fragment.
    `require_arguments` rejects objects without an arguments key (Llama 3: plain JSON content
    must not become a call).

    A call fails (`failed`) when its name or arguments are missing or cut off. Before the start
    nothing was emitted and the caller turns `raw` back into content; after it, only output
    cut off inside the arguments is possible, and the fragments sent stay as they are (as
    OpenAI does on finish_reason "length") rather than being patched into a guess.
    """

    def __init__(self, index: int, *, wait_for_id: bool = False, require_arguments: bool = False):
        self.index = index
        self.raw = ""
        self.started = False
        self.done = False
        self.failed = False
        self._wait_for_id = wait_for_id
        self._require_arguments = require_arguments
        self._phase = _Phase.OPEN
        self._key = ""
        self._value = ""
        self._value_started = False
        self._scanner = JsonValueScanner()
        self._name: str | None = None
        self._model_id: str | None = None
        self._id_seen = False
        self._in_arguments = False  # the value being read is the arguments
        self._args_seen = False
        self._args_begun = False  # an arguments object has started: its text can stream
        self._args_complete = False
        self._args_pending = ""

    def feed(self, text: str) -> tuple[list[ParserEvent], int]:
        """Consume `text` until the object ends; return events and the number of chars used.

        Chars after the end (or after the first unexpected char) are left to the caller.
        """
        pos = 0
        while pos < len(text) and self._phase is not _Phase.FINISHED:
            pos = self._step(text, pos)
        if not self.started:
            self.raw += text[:pos]
        return self._emit(), pos

    def read(self, buffer: str, events: list[ParserEvent]) -> str:
        """Feed `buffer`, appending the events; return the text left after the object."""
        new_events, used = self.feed(buffer)
        events.extend(new_events)
        return buffer[used:]

    @property
    def ended(self) -> bool:
        return self.done or self.failed

    def finish(self) -> list[ParserEvent]:
        """The output ended: close the call if its name and arguments are complete."""
        if self._phase is not _Phase.FINISHED:
            self._close(closing_brace=False)
        return self._emit()

    def _step(self, text: str, pos: int) -> int:
        phase, char = self._phase, text[pos]
        if phase in (_Phase.KEY, _Phase.VALUE):
            return self._scan_value(text, pos)
        if char in WHITESPACE:
            return pos + 1
        if phase is _Phase.OPEN and char == "{":
            self._phase = _Phase.KEY_OR_CLOSE
        elif phase is _Phase.KEY_OR_CLOSE and char == '"':
            self._begin_value(_Phase.KEY)
            return pos
        elif phase is _Phase.COLON and char == ":":
            self._begin_value(_Phase.VALUE)
            self._in_arguments = self._key in _ARGUMENT_KEYS and not self._args_seen
            self._args_seen = self._args_seen or self._in_arguments
        elif phase is _Phase.COMMA_OR_CLOSE and char == ",":
            self._phase = _Phase.KEY_OR_CLOSE
        elif phase in (_Phase.KEY_OR_CLOSE, _Phase.COMMA_OR_CLOSE) and char == "}":
            self._close(closing_brace=True)
        else:
            # Unexpected text: a call whose name and arguments are complete still counts.
            self._close(closing_brace=False)
            return pos
        return pos + 1

    def _begin_value(self, phase: _Phase) -> None:
        self._phase, self._scanner = phase, JsonValueScanner()
        self._value, self._value_started = "", False

    def _scan_value(self, text: str, pos: int) -> int:
        if not self._value_started:
            if text[pos] in WHITESPACE:
                return pos + 1
            self._value_started = True
            if self._in_arguments:
                self._args_begun = text[pos] == "{"
        end = self._scanner.feed(text, pos)
        stop = len(text) if end is None else end
        if self._in_arguments and self._args_begun:
            self._args_pending += text[pos:stop]
        else:
            self._value += text[pos:stop]
        if end is not None:
            self._end_value()
        return stop

    def _end_value(self) -> None:
        if self._phase is _Phase.KEY:
            self._key = _loads_str(self._value) or ""
            self._phase = _Phase.COLON
            return
        self._phase = _Phase.COMMA_OR_CLOSE
        if self._in_arguments:
            self._in_arguments = False
            self._args_complete = self._args_begun or self._take_string_arguments()
        elif self._key == "name" and self._name is None:
            self._name = _loads_str(self._value)
        elif self._key == "id" and not self._id_seen:
            self._id_seen = True
            self._model_id = _loads_str(self._value)

    def _take_string_arguments(self) -> bool:
        """Some fine-tunes write the arguments as a JSON string holding the object."""
        decoded = _loads_str(self._value)
        if decoded is None:
            return False
        try:
            is_object = isinstance(json.loads(decoded), dict)
        except ValueError:
            return False
        if is_object:
            self._args_begun, self._args_pending = True, decoded
        return is_object

    def _close(self, *, closing_brace: bool) -> None:
        self._phase = _Phase.FINISHED
        # A call without arguments means "no arguments" only if its object really closed.
        if closing_brace and not self._args_seen and not self._require_arguments:
            self._args_begun, self._args_complete, self._args_pending = True, True, "{}"
        self.done = self._name is not None and self._args_complete
        self.failed = not self.done

    def _emit(self) -> list[ParserEvent]:
        events: list[ParserEvent] = []
        open_ = self._phase is not _Phase.FINISHED
        id_ready = self._id_seen or not self._wait_for_id
        ready = self._args_begun and (self.done or (open_ and id_ready))
        if ready and not self.started and self._name is not None:
            self.started = True
            events.append(ToolCallStart(self.index, self._name, self._model_id))
        if self.started and self._args_pending:
            events.append(ToolCallArgumentsDelta(self.index, self._args_pending))
            self._args_pending = ""
        return events


def _loads_str(raw: str) -> str | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, str) else None
