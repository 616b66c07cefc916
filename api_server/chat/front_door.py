"""What every front door's service shares: who is calling, and one tracked request each
(counted even when refused; a stream finishes its own tracking)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from api_server.auth.principal import ANONYMOUS, Principal
from api_server.chat.streaming import JsonResult, StreamResult
from api_server.ratelimit import with_headers
from api_server.state import AppState
from api_server.tracking import RequestTracker

FrontDoorResult = dict[str, Any] | JsonResult | StreamResult


class FrontDoorService:
    api_flavour = "openai"

    def __init__(
        self,
        state: AppState,
        request_id: str,
        client_addr: str | None = None,
        principal: Principal = ANONYMOUS,
    ) -> None:
        self.state = state
        self.request_id = request_id
        self.client_addr = client_addr
        self.principal = principal
        self.limit_headers: dict[str, str] = {}  # x-ratelimit-*, once admitted

    async def _tracked(
        self,
        endpoint: str,
        handler: Callable[[bytes, RequestTracker], Awaitable[FrontDoorResult]],
        body: bytes,
    ) -> FrontDoorResult:
        tracker = RequestTracker(
            self.state,
            request_id=self.request_id,
            endpoint=endpoint,
            api_flavour=self.api_flavour,
            client_addr=self.client_addr,
        )
        tracker.record.api_key_id = self.principal.key_id
        tracker.capture_request(body)
        try:
            result = await handler(body, tracker)
        except BaseException as exc:
            tracker.finish(exc)
            raise
        if not isinstance(result, StreamResult):
            tracker.finish(None, response=result.body if isinstance(result, JsonResult) else result)
        return with_headers(result, self.limit_headers)
