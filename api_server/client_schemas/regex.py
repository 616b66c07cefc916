"""Regular expressions from client schemas, run by RE2: matching takes time linear in the
input whatever the pattern (Python's `re` backtracks: `^(a+)+$` doubles per character)."""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is the client's 400, not our stderr
_OPTIONS.max_mem = 4 << 20  # RE2's own bound on a compiled program; beyond it, refused


class _Regex(Protocol):
    def search(self, text: str) -> object | None: ...


class PatternError(ValueError):
    """RE2 cannot compile the pattern (lookaround, backreferences, or too large)."""


@lru_cache(maxsize=256)  # each compiled pattern may hold up to max_mem
def compile_pattern(pattern: str) -> _Regex:
    try:
        regex: _Regex = re2.compile(pattern, options=_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid"
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise PatternError(text) from None
    return regex


def pattern_matches(pattern: str, text: str) -> bool:
    """ECMA-262's `pattern` semantics: a match anywhere, unanchored (as jsonschema's)."""
    return compile_pattern(pattern).search(text) is not None
