"""The tool names prompt formats and tool-call parsers accept (OpenAI's function-name rule),
and the checks of the `tool_name_map` setting against it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping

MAX_NAME_LENGTH = 64
_VALID_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def is_valid_tool_name(name: str) -> bool:
    return _VALID_NAME.fullmatch(name) is not None


def tool_name_map_problems(explicit: Mapping[str, str]) -> list[str]:
    """Why `explicit` ({client: upstream}) cannot be used: an upstream name two client names
    map to (the way back would be ambiguous), or one the prompt formats do not accept."""
    counts = Counter(explicit.values())
    problems = [
        f"{name!r} is the upstream name of {n} tools" for name, n in counts.items() if n > 1
    ]
    problems += [
        f"{name!r} is not a valid tool name (1-64 of a-z, A-Z, 0-9, _ and -)"
        for name in counts
        if not is_valid_tool_name(name)
    ]
    return problems
