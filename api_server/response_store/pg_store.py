"""Stored responses in PostgreSQL (table `responses`, init.sql version 4).

Items are kept as `json` (the text as written: `jsonb` refuses a NUL character, which a
model may well write). A caller's tenant is part of every key and every query: anonymous
callers (tenant None) are the empty string, which no key or token tenant ever is.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

from api_server.errors import ResponsesUnavailableError
from api_server.pg_errors import DATABASE_ERRORS
from api_server.pg_schema import SchemaGate
from api_server.response_store.record import StoredResponse
from api_server.response_store.schema import migrate_responses

logger = logging.getLogger(__name__)

_COLUMNS = (
    "id, tenant, created_at, model, previous_response_id, depth, history_bytes,"
    " input_items, output_items, response"
)
_INSERT = (
    f"INSERT INTO responses ({_COLUMNS})"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::json, $9::json, $10::json)"
)
_GET = f"SELECT {_COLUMNS} FROM responses WHERE tenant = $1 AND id = $2"
_CHAIN = (
    "WITH RECURSIVE chain AS ("
    f" SELECT {_COLUMNS}, 1 AS hop FROM responses WHERE tenant = $1 AND id = $2"
    " UNION ALL"
    f" SELECT {', '.join(f'r.{c.strip()}' for c in _COLUMNS.split(','))}, chain.hop + 1"
    " FROM responses r JOIN chain ON r.tenant = $1 AND r.id = chain.previous_response_id"
    " WHERE chain.hop < $3"
    f") SELECT {_COLUMNS} FROM chain ORDER BY hop DESC"
)
_DELETE = "DELETE FROM responses WHERE tenant = $1 AND id = $2"


class PostgresResponseStore:
    def __init__(self, pool: asyncpg.Pool, acquire_timeout_s: float = 3.0) -> None:
        self.pool = pool
        self.acquire_timeout_s = acquire_timeout_s
        self._schema = SchemaGate(migrate_responses)  # the table exists (schema.py)

    async def save(self, record: StoredResponse) -> None:
        async with self._connection() as conn:
            await conn.execute(
                _INSERT,
                record.id,
                _tenant_key(record.tenant),
                datetime.fromtimestamp(record.created_at, UTC),
                record.model,
                record.previous_response_id,
                record.depth,
                record.history_bytes,
                _json(record.input_items),
                _json(record.output_items),
                _json(record.response),
            )

    async def get(self, tenant: str | None, response_id: str) -> StoredResponse | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(_GET, _tenant_key(tenant), response_id)
        return None if row is None else _record(row)

    async def chain(self, tenant: str | None, response_id: str, limit: int) -> list[StoredResponse]:
        async with self._connection() as conn:
            rows = await conn.fetch(_CHAIN, _tenant_key(tenant), response_id, limit)
        return [_record(row) for row in rows]

    async def delete(self, tenant: str | None, response_id: str) -> bool:
        async with self._connection() as conn:
            status = await conn.execute(_DELETE, _tenant_key(tenant), response_id)
        return bool(status != "DELETE 0")

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[PoolConnectionProxy]:
        """A pooled connection to a database with the table; any failure to reach it (or
        of a statement) as ResponsesUnavailableError."""
        try:
            async with self.pool.acquire(timeout=self.acquire_timeout_s) as conn:
                if await self._schema.ensure(conn):
                    logger.info("responses: created the responses table")
                yield conn
        except DATABASE_ERRORS as exc:
            logger.warning("responses: the database failed: %s: %s", type(exc).__name__, exc)
            raise ResponsesUnavailableError(
                "Stored responses are unavailable right now (the database cannot be reached)"
            ) from exc


def _tenant_key(tenant: str | None) -> str:
    return tenant or ""


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _record(row: asyncpg.Record) -> StoredResponse:
    return StoredResponse(
        id=row["id"],
        tenant=row["tenant"] or None,
        created_at=row["created_at"].timestamp(),
        model=row["model"],
        previous_response_id=row["previous_response_id"],
        depth=row["depth"],
        history_bytes=row["history_bytes"],
        input_items=orjson.loads(row["input_items"]),
        output_items=orjson.loads(row["output_items"]),
        response=orjson.loads(row["response"]),
    )
