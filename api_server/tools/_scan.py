"""Streaming helpers shared by the tool-call parsers: marker hold-back and a JSON value scanner.

The scanner only tracks strings, escapes and bracket depth: enough to know where a value ends
without waiting for it to be complete, which is what lets arguments stream.
"""

from __future__ import annotations

import re

from api_server.chat.events import ParserEvent, TextDelta

WHITESPACE = " \t\r\n"

_SPECIAL_OUTSIDE_STRING = re.compile(r'["{}\[\]]')
_SPECIAL_INSIDE_STRING = re.compile(r'["\\]')
_SCALAR_END = re.compile(r"[\s,}\]]")


def append_text(events: list[ParserEvent], text: str) -> None:
    """Append content, merging with a directly preceding TextDelta; empty text is dropped."""
    if not text:
        return
    if events and isinstance(events[-1], TextDelta):
        events[-1] = TextDelta(events[-1].text + text)
    else:
        events.append(TextDelta(text))


def partial_marker_start(text: str, markers: tuple[str, ...]) -> int:
    """Index where the longest tail of `text` that could begin a marker starts (len if none)."""
    longest = max(len(m) for m in markers) - 1
    for size in range(min(longest, len(text)), 0, -1):
        tail = text[-size:]
        if any(m.startswith(tail) for m in markers):
            return len(text) - size
    return len(text)


def split_at_marker(text: str, markers: tuple[str, ...]) -> tuple[str, str | None, str]:
    """Split at the earliest complete marker: (before, marker, after).

    Without a complete marker: (safe text, None, held tail), where the held tail is the
    shortest suffix that might still grow into a marker.
    """
    best: tuple[int, str] | None = None
    for marker in markers:
        found = text.find(marker)
        if found >= 0 and (best is None or found < best[0]):
            best = (found, marker)
    if best is not None:
        at, marker = best
        return text[:at], marker, text[at + len(marker) :]
    cut = partial_marker_start(text, markers)
    return text[:cut], None, text[cut:]


def could_become(text: str, markers: tuple[str, ...]) -> bool:
    """True when `text` is a proper beginning of one of the markers."""
    return any(len(text) < len(m) and m.startswith(text) for m in markers)


class BufferedParser:
    """Drives a parser as steps over a buffer of unread output, until one needs more input."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, text: str) -> list[ParserEvent]:
        self._buffer += text
        events: list[ParserEvent] = []
        while self._step(events):
            pass
        return events

    def _step(self, events: list[ParserEvent]) -> bool:
        """Consume from the front of the buffer; False when more input is needed."""
        raise NotImplementedError


class JsonValueScanner:
    """Finds where one JSON value ends, fed piece by piece (the first piece starts the value).

    Containers end at their matching bracket, strings at their closing quote, scalars just
    before the next delimiter (which is not consumed).
    """

    def __init__(self) -> None:
        self._kind: str | None = None  # "container", "string" or "scalar"
        self._depth = 0
        self._in_string = False
        self._escape = False

    def feed(self, text: str, pos: int = 0) -> int | None:
        """Scan `text[pos:]`; return the index just past the value, or None if it goes on."""
        if pos >= len(text):
            return None
        if self._kind is None:
            first = text[pos]
            if first in "{[":
                self._kind, self._depth, pos = "container", 1, pos + 1
            elif first == '"':
                self._kind, self._in_string, pos = "string", True, pos + 1
            else:
                self._kind = "scalar"
        if self._kind == "scalar":
            match = _SCALAR_END.search(text, pos)
            return match.start() if match else None
        return self._scan_nested(text, pos)

    def _scan_nested(self, text: str, pos: int) -> int | None:
        while True:
            if self._escape:
                if pos >= len(text):
                    return None
                self._escape, pos = False, pos + 1
                continue
            pattern = _SPECIAL_INSIDE_STRING if self._in_string else _SPECIAL_OUTSIDE_STRING
            match = pattern.search(text, pos)
            if match is None:
                return None
            pos, char = match.end(), match.group()
            if char == "\\":
                self._escape = True
            elif char == '"':
                self._in_string = not self._in_string
                if not self._in_string and self._depth == 0:
                    return pos
            else:
                self._depth += 1 if char in "{[" else -1
                if self._depth == 0:
                    return pos
