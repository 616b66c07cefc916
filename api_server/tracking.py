"""Everything observed about one request while it runs: Prometheus metrics as they happen,
and the request-log row handed to the log sink when it ends. Front doors create one per
request; the shared generation path reports engine events to it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from api_server.archive.capture import PayloadCapture
from api_server.archive.object_keys import archive_key
from api_server.archive.writer import ArchiveWriter
from api_server.chat.events import ChatEvent, Usage
from api_server.engines.client import EngineReplica
from api_server.errors import InferstackError
from api_server.generation.translation import TranslationCapture
from api_server.logs.record import RequestLogRecord, RequestLogSink
from api_server.metrics import GatewayMetrics


class RequestTracker:
    """The model label is "unknown" until the request names a served model. It writes to
    `metrics` as things happen, and hands the log row to `sink` (and the payloads to
    `archive`, when on) at the end."""

    def __init__(
        self,
        metrics: GatewayMetrics,
        sink: RequestLogSink,
        archive: ArchiveWriter | None,
        *,
        request_id: str,
        endpoint: str,
        api_flavour: str,
        client_addr: str | None = None,
        client_request_id: str | None = None,
    ) -> None:
        self.metrics = metrics
        self.sink = sink
        self.archive = archive
        self.capture: PayloadCapture | None = None  # only while archiving is on
        self.started = time.perf_counter()
        self.record = RequestLogRecord(
            id=request_id,
            received_at=datetime.now(UTC),
            endpoint=endpoint,
            api_flavour=api_flavour,
            client_addr=client_addr,
            client_request_id=client_request_id,
        )
        self._model = "unknown"
        self._finished = False
        self.on_finish: list[Callable[[RequestLogRecord], None]] = []  # admissions, the access log
        self.metrics.in_flight.labels(self._model).inc()

    @property
    def request_id(self) -> str:
        return self.record.id

    @property
    def model(self) -> str:
        """The label metrics and the concurrency valve count the request under."""
        return self._model

    def identify(
        self,
        session_id: str | None,
        tenant: str | None,
        api_key_id: str | None = None,
        *,
        agent_id: str | None = None,
    ) -> None:
        """Whose request it is: the conversation's session, the agent run the client named,
        the caller's tenant (what the logs API scopes rows by; JWT callers have no key) and
        key."""
        self.record.session_id = session_id
        self.record.agent_id = agent_id
        self.record.tenant = tenant
        self.record.api_key_id = api_key_id

    @property
    def affinity(self) -> str | None:
        """The key that keeps a conversation on one replica (the engine holding its prompt
        in cache): the caller's tenant and session id."""
        session = self.record.session_id
        return None if session is None else f"{self.record.tenant}\n{session}"

    def model_named(
        self,
        accounted: str,
        model: str,
        *,
        stream: bool = False,
        end_user: str | None = None,
    ) -> None:
        """The request is for `model`, counted under `accounted` (they differ only for names
        a catch-all entry takes beyond its cap)."""
        self.metrics.in_flight.labels(self._model).dec()
        self.metrics.in_flight.labels(accounted).inc()
        self._model = accounted
        self.record.model = model
        self.record.stream = stream
        self.record.end_user = end_user

    def capture_request(self, body: bytes) -> None:
        """Keep the request body for the archive, when it is on."""
        if self.archive is not None:
            self.capture = PayloadCapture(body)

    def capture_translation(self, translation: TranslationCapture) -> None:
        """Archive the translation debug mode's capture with the request, when it is on."""
        if self.capture is not None:
            self.capture.translation = translation

    def observed(self, events: AsyncGenerator[ChatEvent, None]) -> AsyncGenerator[ChatEvent, None]:
        """`events`, kept for the archive when capturing; untouched (no cost) otherwise."""
        return events if self.capture is None else self.capture.observe(events)

    def engine_chosen(self, replica: EngineReplica) -> None:
        self.record.engine = replica.kind
        self.record.replica = replica.url

    def first_token(self) -> None:
        elapsed = time.perf_counter() - self.started
        self.metrics.time_to_first_token.labels(self._model).observe(elapsed)
        self.record.first_token_at = self.record.received_at + timedelta(seconds=elapsed)
        self.record.ttft_ms = elapsed * 1000

    def engine_failed(self, replica: EngineReplica, error: InferstackError) -> None:
        self.metrics.engine_errors.labels(self._model, replica.label, type(error).__name__).inc()

    def engine_failed_over(self, replica: EngineReplica, kind: str) -> None:
        """`replica` failed and the generation goes on on another: sent again ("retry",
        before any text) or continued from the text already sent ("continuation")."""
        self.metrics.engine_failovers.labels(self._model, replica.label, kind).inc()

    def upstream_retried(self, replica: EngineReplica, reason: str) -> None:
        """A hosted upstream's attempt failed before any byte went out (`reason`: its status
        or connection error) and is being tried again."""
        self.metrics.upstream_retries.labels(self._model, replica.label, reason).inc()

    def completed(self, usage: Usage) -> None:
        self.metrics.prompt_tokens.labels(self._model).inc(usage.prompt_tokens)
        self.metrics.completion_tokens.labels(self._model).inc(usage.completion_tokens)
        self.record.prompt_tokens = usage.prompt_tokens
        self.record.completion_tokens = usage.completion_tokens

    def cache_consulted(self, outcome: str | None, usage: Usage | None) -> None:
        """`usage` of an answer served from the cache: the original generation's, logged
        as the answer's size; the engine token counters stay untouched (it did no work)."""
        self.record.cache_outcome = outcome
        if usage is not None:
            self.record.prompt_tokens = usage.prompt_tokens
            self.record.completion_tokens = usage.completion_tokens

    def finish(self, error: BaseException | None, response: dict[str, Any] | None = None) -> None:
        """`response`: a non-streaming response object, for the archive."""
        if self._finished:  # a stream's generator and its caller may both report the end
            return
        self._finished = True
        elapsed = time.perf_counter() - self.started
        status = _status_code(error)
        metrics = self.metrics
        metrics.in_flight.labels(self._model).dec()
        metrics.requests.labels(self.record.endpoint, self._model, str(status)).inc()
        metrics.request_latency.labels(self.record.endpoint, self._model).observe(elapsed)
        record = self.record
        record.finished_at = record.received_at + timedelta(seconds=elapsed)
        record.latency_ms = elapsed * 1000
        record.status_code = status
        if error is not None:
            record.error_type = (
                error.error_type if isinstance(error, InferstackError) else type(error).__name__
            )
        if self.capture is not None and self.archive is not None:
            # The key is known now; the object is written later, off the request path.
            self.capture.response = response
            key = archive_key(record.id, record.received_at)
            if self.archive.submit(self.capture.entry(key, record, error)):
                record.archive_key = key
        self.sink.enqueue(record)
        for hook in self.on_finish:
            hook(record)


def _status_code(error: BaseException | None) -> int:
    if error is None:
        return 200
    if isinstance(error, InferstackError):
        return error.status_code
    if isinstance(error, GeneratorExit | asyncio.CancelledError):
        return 499  # the client went away
    return 500
