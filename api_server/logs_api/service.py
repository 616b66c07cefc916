"""The logs API's logic: validate parameters, query, shape rows as JSON, attach payloads."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from api_server.errors import LogNotFoundError, LogsUnavailableError
from api_server.logs.query.protocol import (
    Cursor,
    LogScope,
    UsageQuery,
    encode_cursor,
    parse_logs_query,
    parse_usage_query,
)
from api_server.logs.query.repository import RequestLogRepository
from api_server.pg_errors import DATABASE_ERRORS
from api_server.state import AppState

logger = logging.getLogger(__name__)

_PERCENTILES = ("p50", "p95", "p99")


class LogsQueryService:
    """Every query over `scope`'s rows only (see logs_api.access)."""

    def __init__(self, state: AppState, scope: LogScope) -> None:
        self.state = state
        self.scope = scope
        pool = state.services.postgres
        self.repository = RequestLogRepository(pool) if pool is not None else None

    async def list_logs(self, params: Mapping[str, str]) -> dict[str, Any]:
        query = parse_logs_query(params)
        async with self._database() as repository:
            rows = await repository.page(query, self.scope)
        page = [log_row(row) for row in rows[: query.limit]]
        has_more = len(rows) > query.limit
        next_cursor = None
        if has_more:
            last = page[-1]
            next_cursor = encode_cursor(Cursor(last["received_at"], last["id"]))
        return {"object": "list", "data": page, "has_more": has_more, "next_cursor": next_cursor}

    async def get_log(self, request_id: str) -> dict[str, Any]:
        async with self._database() as repository:
            row = await repository.get(request_id, self.scope)
        if row is None:
            raise LogNotFoundError(f"No request log with id {request_id!r}", param="id")
        log = log_row(row)
        log["payload"] = await self._payload(log["archive_key"])
        return {"object": "request_log", **log}

    async def usage(self, params: Mapping[str, str]) -> dict[str, Any]:
        query = parse_usage_query(params)
        async with self._database() as repository:
            rows = await repository.usage(query, self.scope)
        return usage_body(query, rows)

    @asynccontextmanager
    async def _database(self) -> AsyncIterator[RequestLogRepository]:
        if self.repository is None:
            raise LogsUnavailableError("Request logs need a database (database_url is not set)")
        try:
            yield self.repository
        except DATABASE_ERRORS as exc:
            logger.warning("request logs query failed: %r", exc)
            raise LogsUnavailableError("The request-log database is unavailable") from exc

    async def _payload(self, key: str | None) -> Any:
        """The archived request and response, or None: not archived, or the store cannot
        give it right now (the row is still worth returning)."""
        store = self.state.services.object_store
        if key is None or store is None:
            return None
        try:
            data = await store.get(key)
            return None if data is None else orjson.loads(data)
        except Exception as exc:
            logger.warning("archive: could not read %s: %r", key, exc)
            return None


def log_row(row: asyncpg.Record | Mapping[str, Any]) -> dict[str, Any]:
    log = dict(row.items())
    if log["api_key_id"] is not None:
        log["api_key_id"] = str(log["api_key_id"])
    for name in ("latency_ms", "ttft_ms"):  # real columns: drop float32 noise
        if log[name] is not None:
            log[name] = round(log[name], 2)
    return log


def usage_body(query: UsageQuery, rows: list[Any]) -> dict[str, Any]:
    data = []
    for row in rows:
        requests, errors = row["requests"], row["errors"]
        data.append(
            {
                query.group_by: row["grp"],
                "requests": requests,
                "prompt_tokens": row["prompt_tokens"],
                "completion_tokens": row["completion_tokens"],
                "total_tokens": row["prompt_tokens"] + row["completion_tokens"],
                "errors": errors,
                "error_rate": round(errors / requests, 4) if requests else 0.0,
                "latency_ms": _percentiles(row["latency"]),
                "ttft_ms": _percentiles(row["ttft"]),
            }
        )
    return {
        "object": "usage",
        "group_by": query.group_by,
        "since": _iso(query.since),
        "until": _iso(query.until),
        "data": data,
    }


def _percentiles(values: list[float] | None) -> dict[str, float | None]:
    if values is None:
        return dict.fromkeys(_PERCENTILES)
    return {name: round(value, 2) for name, value in zip(_PERCENTILES, values, strict=True)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
