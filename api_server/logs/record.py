"""One request's log row, filled in as the request goes (columns of `request_logs`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(slots=True)
class RequestLogRecord:
    id: str
    received_at: datetime
    endpoint: str
    api_flavour: str
    first_token_at: datetime | None = None
    finished_at: datetime | None = None
    model: str | None = None
    engine: str | None = None
    replica: str | None = None
    status_code: int | None = None
    error_type: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    stream: bool = False
    cache_outcome: str | None = None
    api_key_id: str | None = None
    # Whose row it is (Principal.tenant: `key:<id>`, `jwt:<hash>`; None for anonymous): the
    # logs API shows a caller only its own.
    tenant: str | None = None
    client_request_id: str | None = None  # the client's own id; `id` is always ours
    end_user: str | None = None
    session_id: str | None = None
    agent_id: str | None = None  # X-Agent-ID / X-Trace-ID: the agent run or trace it is part of
    client_addr: str | None = None
    archive_key: str | None = None


class RequestLogSink(Protocol):
    """Where finished records go. `enqueue` must never block or raise: it runs on the
    request path."""

    def enqueue(self, record: RequestLogRecord) -> None: ...


class DiscardingSink:
    """Request logging is off (no database configured)."""

    def enqueue(self, record: RequestLogRecord) -> None:
        return None
