"""The whole-request timeout (`request_timeout_s`): one deadline per request, counted from
when the front door takes it, enforced around the work before the response starts and around
each event of a stream after it. Past it the work is cancelled (closing the engine request)
and the client gets RequestTimeoutError: a 504 before the response starts, the front door's
error event in a stream that has.

The settings give the first timeout; once the request's model is known, that model's own
(`request_timeout_s` in its registry entry) replaces it, still counted from the start.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext

from api_server.errors import RequestTimeoutError


class RequestDeadline:
    def __init__(self, timeout_s: float | None, started_at: float) -> None:
        self.timeout_s = timeout_s  # None: no deadline (yet)
        self.started_at = started_at  # on the event loop's clock
        self._scopes: set[asyncio.Timeout] = set()  # the enforced() blocks now running

    @classmethod
    def from_now(cls, timeout_s: float | None) -> RequestDeadline:
        return cls(timeout_s, asyncio.get_running_loop().time())

    @property
    def at(self) -> float | None:
        return None if self.timeout_s is None else self.started_at + self.timeout_s

    def change_timeout(self, timeout_s: float | None) -> None:
        """The request's timeout is now `timeout_s` from its start (None: none), also for
        the enforced() blocks already running."""
        self.timeout_s = timeout_s
        for scope in self._scopes:
            scope.reschedule(self.at)

    @asynccontextmanager
    async def enforced(self) -> AsyncIterator[None]:
        """Cancel the body at the deadline and raise RequestTimeoutError in its place; a
        TimeoutError of the body's own passes through untouched."""
        scope = asyncio.timeout_at(self.at)
        self._scopes.add(scope)
        try:
            async with scope:
                yield
        except TimeoutError:
            if not scope.expired():
                raise
            raise RequestTimeoutError(
                f"The request took longer than the gateway's request timeout ({self.timeout_s:g} s)"
            ) from None
        finally:
            self._scopes.discard(scope)


def deadline_enforced(deadline: RequestDeadline | None) -> AbstractAsyncContextManager[None]:
    """`deadline.enforced()`, or nothing at all where there is no deadline now (a block that
    must see a later change_timeout enters `enforced()` itself)."""
    return nullcontext() if deadline is None or deadline.at is None else deadline.enforced()
