"""Priority classes: which waiting request an admission queue serves first.

A request's class comes from its `X-Priority` header, else its key's own class, else
`normal`. The key's class is also the highest its requests may ask for: a header may lower
a request's class (a background job yielding to interactive work), never raise it past
the key's, or every client would send `high` and classes would mean nothing. The admin key
may ask for any class. Batch lines run as `low`.
"""

from __future__ import annotations

from api_server.errors import InvalidRequestError
from api_server.priority_classes import PRIORITY_CLASSES, PriorityClass

DEFAULT_PRIORITY: PriorityClass = "normal"
PRIORITY_HEADER = "x-priority"


def rank(priority: PriorityClass) -> int:
    """0 for the class served first (PRIORITY_CLASSES runs first to last). vLLM's `priority`
    reads it the same way (lower first)."""
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
