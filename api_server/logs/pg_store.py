"""The request-log writer's PostgreSQL side: batches in, expired rows out.

Inserting a batch is harmless to repeat: COPY (binary) into a per-session temporary table,
then `INSERT ... SELECT ... ON CONFLICT (id) DO NOTHING`, in one transaction. A batch that
committed but whose answer was lost (a timeout, a dropped connection) is spooled and
replayed, and its rows are skipped then, not duplicated.
"""

from __future__ import annotations

import logging
from dataclasses import fields
from datetime import datetime
from typing import Protocol

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from api_server.logs.record import RequestLogRecord
from api_server.logs.schema import migrate_request_logs

logger = logging.getLogger(__name__)

COLUMNS = tuple(f.name for f in fields(RequestLogRecord))
_STAGING = "request_logs_incoming"
_CREATE_STAGING = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} "
    "(LIKE request_logs INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
_COLUMN_LIST = ", ".join(COLUMNS)
_MERGE = (
    f"INSERT INTO request_logs ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM {_STAGING} "
    "ON CONFLICT (id) DO NOTHING"
)
# Retention: the oldest expired rows first, a bounded batch per statement (short locks,
# the (received_at, id) index finds them).
_DELETE_BATCH = (
    "DELETE FROM request_logs WHERE id IN "
    "(SELECT id FROM request_logs WHERE received_at < $1 ORDER BY received_at LIMIT $2)"
)
_INSERT_ONE = (
    f"INSERT INTO request_logs ({_COLUMN_LIST}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))}) "
    "ON CONFLICT (id) DO NOTHING"
)


class RequestLogStore(Protocol):
    """Where the writer's batches go (PostgreSQL; a fake in unit tests)."""

    async def insert(self, records: list[RequestLogRecord]) -> tuple[int, int]:
        """Commit the records; (rows inserted, rows rejected as invalid). Duplicates of
        rows already stored count as neither. Raises when the database is unavailable."""
        ...

    async def delete_received_before(self, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` of the oldest rows received before `cutoff`."""
        ...


def as_row(record: RequestLogRecord) -> tuple[object, ...]:
    return tuple(getattr(record, name) for name in COLUMNS)


class PostgresLogStore:
    def __init__(self, pool: asyncpg.Pool, acquire_timeout_s: float = 3.0) -> None:
        self.pool = pool
        self.acquire_timeout_s = acquire_timeout_s
        self._schema_checked = False  # the table has every column we write (schema.py)

    async def insert(self, records: list[RequestLogRecord]) -> tuple[int, int]:
        rows = [as_row(record) for record in records]
        async with self.pool.acquire(timeout=self.acquire_timeout_s) as conn:
            if not self._schema_checked:
                if await migrate_request_logs(conn):
                    logger.info("request logs: request_logs migrated to the current schema")
                self._schema_checked = True
            try:
                async with conn.transaction():
                    await conn.execute(_CREATE_STAGING)
                    await conn.copy_records_to_table(_STAGING, records=rows, columns=COLUMNS)
                    status = await conn.execute(_MERGE)
                return _row_count(status), 0
            except asyncpg.DataError:
                # A value PostgreSQL refuses (a NUL in a string, a bad uuid) fails the whole
                # COPY: insert row by row so one bad row costs only itself.
                return await _insert_one_by_one(conn, rows)

    async def delete_received_before(self, cutoff: datetime, limit: int) -> int:
        async with self.pool.acquire(timeout=self.acquire_timeout_s) as conn:
            status = await conn.execute(_DELETE_BATCH, cutoff, limit)
        return _row_count(status)


async def _insert_one_by_one(
    conn: PoolConnectionProxy, rows: list[tuple[object, ...]]
) -> tuple[int, int]:
    inserted = rejected = 0
    for row in rows:
        try:
            status = await conn.execute(_INSERT_ONE, *row)
        except asyncpg.DataError as exc:
            rejected += 1
            logger.error("request-log row %s rejected by PostgreSQL, dropped: %s", row[0], exc)
            continue
        inserted += _row_count(status)
    return inserted, rejected


def _row_count(status: str) -> int:
    """The row count of an `INSERT 0 <n>` / `DELETE <n>` command tag."""
    return int(status.rsplit(" ", 1)[-1])
