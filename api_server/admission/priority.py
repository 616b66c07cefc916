"""Priority classes: which waiting request an admission queue serves first.

A request's class comes from its `X-Priority` header, else its key's own class, else
`normal`. The key's class is also the highest its requests may ask for: a header may lower
a request's class (a background job yielding to interactive work), never raise it past
the key's, or every client would send `high` and classes would mean nothing. The admin key
may ask for any class. Batch lines run as `low`.
"""

from __future__ import annotations

from typing import Literal

from api_server.errors import InvalidRequestError

PriorityClass = Literal["high", "normal", "low"]
# Served first to last; a class's rank is its place here.
PRIORITY_CLASSES: tuple[PriorityClass, ...] = ("high", "normal", "low")
DEFAULT_PRIORITY: PriorityClass = "normal"
PRIORITY_HEADER = "x-priority"


def rank(priority: PriorityClass) -> int:
    """0 for the class served first. vLLM's `priority` reads it the same way (lower first)."""
    return PRIORITY_CLASSES.index(priority)


def parse_priority(value: str, *, source: str = "X-Priority") -> PriorityClass:
    """One of the class names, in any letter case; anything else is the client's error."""
    name = value.strip().lower()
    if name not in PRIORITY_CLASSES:
        raise InvalidRequestError(
            f"{source} must be one of {', '.join(PRIORITY_CLASSES)}; got {value.strip()[:40]!r}",
            param=source,
        )
    return name


def stored_priority(value: str | None) -> PriorityClass | None:
    """A key's or a token's class as stored; None when it has none or one this gateway does
    not know (a token's claim is not the client's request to refuse)."""
    if value is None or value not in PRIORITY_CLASSES:
        return None
    return value


def request_priority(
    header: str | None, own: PriorityClass | None, *, may_raise: bool = False
) -> PriorityClass:
    """The class a request waits in: `header` (400 if malformed) capped at `own` (the key's
    class, `normal` when it has none), or `own` without a header. `may_raise`: the header
    is not capped (the admin)."""
    ceiling = own or DEFAULT_PRIORITY
    if header is None:
        return ceiling
    asked = parse_priority(header)
    if may_raise:
        return asked
    return max(asked, ceiling, key=rank)
