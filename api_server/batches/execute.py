"""One line of a batch, run as the HTTP request it describes would be: the endpoint's own
front-door service (tracking, admission, caches, prompt formatting, the engine, a request-log
row), built directly, under the batch creator's tenant. No HTTP loopback.

The log row carries the batch id as its agent id and the line's custom_id as the client's
request id, so `/v1/logs?agent_id=<batch id>` lists a batch's requests.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import orjson

from api_server.auth.principal import Principal
from api_server.batches.input import InputLine
from api_server.batchstore.records import BatchRecord, tenant_of
from api_server.chat.streaming import JsonResult, RelayResult, StreamResult
from api_server.embeddings_api.service import EmbeddingsService
from api_server.errors import InferstackError
from api_server.frontdoor.service import FrontDoorResult
from api_server.log_format import current_request_id
from api_server.openai.render import error_body
from api_server.openai.service import OpenAIService
from api_server.state import AppState

logger = logging.getLogger(__name__)

# Refusals that say "not now" rather than "not this": the runner runs such a line again later.
TRANSIENT_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class LineOutcome:
    status_code: int
    body: Any
    request_id: str
    retry_after_s: float | None = None  # what a transient refusal asked for, if anything

    @property
    def transient(self) -> bool:
        return self.status_code in TRANSIENT_STATUSES

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def usage(self) -> tuple[int, int]:
        """(input, output) tokens of a successful answer."""
        usage = self.body.get("usage") if isinstance(self.body, dict) else None
        if not self.ok or not isinstance(usage, dict):
            return 0, 0
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        return (
            prompt if isinstance(prompt, int) else 0,
            completion if isinstance(completion, int) else 0,
        )


class LineExecutor(Protocol):
    async def __call__(self, batch: BatchRecord, line: InputLine) -> LineOutcome: ...


@dataclass(frozen=True)
class BatchPrincipal(Principal):
    """Who a batch's lines run as: its creator's tenant and key (their rows, caches and
    sessions), without the creator's own rate limits (the runner paces batches itself)."""

    recorded_tenant: str | None = None

    @cached_property
    def tenant(self) -> str | None:
        return self.recorded_tenant


def batch_principal(batch: BatchRecord) -> BatchPrincipal:
    return BatchPrincipal(
        name=f"batch {batch.id}",
        key_id=batch.api_key_id,
        recorded_tenant=tenant_of(batch.owner),
        priority="low",  # behind every interactive request in the admission queues
    )


class GatewayLineExecutor:
    """Runs lines through this gateway's own front doors."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    async def __call__(self, batch: BatchRecord, line: InputLine) -> LineOutcome:
        request_id = uuid.uuid4().hex
        token = current_request_id.set(request_id)  # this line's log lines carry its id
        try:
            answer = await self._answer(batch, line, request_id)
            return await outcome_of(answer, request_id)
        except InferstackError as exc:
            return LineOutcome(exc.status_code, error_body(exc), request_id, exc.retry_after_s)
        except Exception:
            logger.exception("batch %s line %d failed", batch.id, line.number)
            error = InferstackError("The gateway hit an internal error")
            return LineOutcome(500, error_body(error), request_id)
        finally:
            current_request_id.reset(token)

    async def _answer(
        self, batch: BatchRecord, line: InputLine, request_id: str
    ) -> FrontDoorResult:
        door = EmbeddingsService if batch.endpoint == "/v1/embeddings" else OpenAIService
        service = door(
            self.state,
            request_id,
            principal=batch_principal(batch),
            agent_id=batch.id,
            client_request_id=line.custom_id,
        )
        body = orjson.dumps(line.body)
        if isinstance(service, EmbeddingsService):
            return await service.create(body)
        assert isinstance(service, OpenAIService)
        if batch.endpoint == "/v1/completions":
            return await service.text_completion(body)
        return await service.chat_completion(body)


async def outcome_of(result: FrontDoorResult, request_id: str) -> LineOutcome:
    if isinstance(result, JsonResult):
        return LineOutcome(200, result.body, request_id)
    if isinstance(result, RelayResult):  # a hosted upstream's own answer, read whole
        body = b"".join([chunk async for chunk in result.chunks])
        try:
            parsed: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = body.decode("utf-8", "replace")
        return LineOutcome(result.status, parsed, request_id)
    if isinstance(result, StreamResult):  # never asked for (stream is refused in input)
        raise InferstackError("A batch line was answered with a stream")
    return LineOutcome(200, result, request_id)
