"""The whole-request timeout (`request_timeout_s`): one deadline per request, fixed when the
front door takes it, enforced around the work before the response starts and around each
event of a stream after it. Past it the work is cancelled (closing the engine request) and
the client gets RequestTimeoutError: a 504 before the response starts, the front door's
error event in a stream that has."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass

from api_server.errors import RequestTimeoutError


@dataclass(frozen=True, slots=True)
class RequestDeadline:
    timeout_s: float
    at: float  # on the event loop's clock

    @classmethod
    def from_now(cls, timeout_s: float) -> RequestDeadline:
        return cls(timeout_s, asyncio.get_running_loop().time() + timeout_s)

    @asynccontextmanager
    async def enforced(self) -> AsyncIterator[None]:
        """Cancel the body at the deadline and raise RequestTimeoutError in its place; a
        TimeoutError of the body's own passes through untouched."""
        scope = asyncio.timeout_at(self.at)
        try:
            async with scope:
                yield
        except TimeoutError:
            if not scope.expired():
                raise
            raise RequestTimeoutError(
                f"The request took longer than the gateway's request timeout ({self.timeout_s:g} s)"
            ) from None


def deadline_enforced(deadline: RequestDeadline | None) -> AbstractAsyncContextManager[None]:
    """`deadline.enforced()`, or nothing at all when the timeout is off."""
    return nullcontext() if deadline is None else deadline.enforced()
