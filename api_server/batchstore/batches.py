"""The `batches` and `batch_lines` tables: the API's reads and writes (always within the
caller's rows), and the runners' (a lease on the batch each works on).

Several runners (gateway workers, gateways) share the tables. A runner works on a batch
only while it holds the batch's lease: `try_claim` takes it by a compare-and-set UPDATE (free,
or expired), `renew` extends it and reports the batch's status (a cancel the API wrote), and
every write of the runner's (`record_line`, `start_finalizing`, `finish`) happens only while
the lease is still its own, so a runner that lost it (stalled past `lease_until`, another took
over) can no longer change anything. A finished line is a row in `batch_lines`, written with
the batch's counters in one transaction; a line with a row is never run again.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import asyncpg

from api_server.batchstore.records import (
    ACTIVE_STATUSES,
    CANCELLABLE_STATUSES,
    BatchEnd,
    BatchRecord,
    LineResult,
)
from api_server.batchstore.rows import (
    INSERT_BATCH,
    INSERT_FILE,
    json_text,
    record_of,
    row_values,
    timestamp,
)

_WHEN = {
    "completed": "completed_at",
    "failed": "failed_at",
    "expired": "expired_at",
    "cancelled": "cancelled_at",
}
_HELD = "SELECT status FROM batches WHERE id = $1 AND lease_owner = $2 FOR UPDATE"


class BatchRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # The API's side.

    async def create(self, record: BatchRecord) -> None:
        await self.pool.execute(INSERT_BATCH, *row_values(record))

    async def get(self, owner: str, batch_id: str) -> BatchRecord | None:
        row = await self.pool.fetchrow(
            "SELECT * FROM batches WHERE id = $1 AND owner = $2", batch_id, owner
        )
        return None if row is None else record_of(BatchRecord, row)

    async def page(self, owner: str, *, after: str | None, limit: int) -> list[BatchRecord]:
        """Up to `limit` + 1 batches, newest first, after the batch `after` when given."""
        rows = await self.pool.fetch(
            "SELECT * FROM batches WHERE owner = $1"
            " AND ($2::text IS NULL OR (created_at, id) <"
            "  (SELECT created_at, id FROM batches WHERE id = $2 AND owner = $1))"
            " ORDER BY created_at DESC, id DESC LIMIT $3",
            owner,
            after,
            limit + 1,
        )
        return [record_of(BatchRecord, row) for row in rows]

    async def cancel(self, owner: str, batch_id: str, now: float) -> BatchRecord | None:
        """Mark the batch cancelling when it may be cancelled; the batch as it is after
        (unchanged when it may not), or None when the owner has no such batch."""
        row = await self.pool.fetchrow(
            "UPDATE batches SET status = 'cancelling', cancelling_at = $3"
            " WHERE id = $1 AND owner = $2 AND status = ANY($4::text[]) RETURNING *",
            batch_id,
            owner,
            timestamp(now),
            list(CANCELLABLE_STATUSES),
        )
        if row is not None:
            return record_of(BatchRecord, row)
        return await self.get(owner, batch_id)

    # The runners' side.

    async def candidates(self, now: float, limit: int) -> list[tuple[str, str, str]]:
        """(id, endpoint, model) of the oldest batches with work left that no runner holds."""
        rows = await self.pool.fetch(
            "SELECT id, endpoint, model FROM batches WHERE status = ANY($1::text[])"
            " AND (lease_until IS NULL OR lease_until < $2) ORDER BY created_at LIMIT $3",
            list(ACTIVE_STATUSES),
            timestamp(now),
            limit,
        )
        return [(row["id"], row["endpoint"], row["model"]) for row in rows]

    async def try_claim(
        self, batch_id: str, worker: str, now: float, lease_s: float
    ) -> BatchRecord | None:
        """Take the batch's lease if it is free or expired (a batch waiting to start is
        in_progress from here); None when another runner holds it or it has ended."""
        row = await self.pool.fetchrow(
            "UPDATE batches SET lease_owner = $2, lease_until = $4,"
            " in_progress_at = CASE WHEN status = 'validating' THEN $3 ELSE in_progress_at END,"
            " status = CASE WHEN status = 'validating' THEN 'in_progress' ELSE status END"
            " WHERE id = $1 AND status = ANY($5::text[])"
            " AND (lease_until IS NULL OR lease_until < $3 OR lease_owner = $2) RETURNING *",
            batch_id,
            worker,
            timestamp(now),
            timestamp(now + lease_s),
            list(ACTIVE_STATUSES),
        )
        return None if row is None else record_of(BatchRecord, row)

    async def renew(self, batch_id: str, worker: str, now: float, lease_s: float) -> str | None:
        """Extend the lease; the batch's status, or None when the lease is no longer ours."""
        status: str | None = await self.pool.fetchval(
            "UPDATE batches SET lease_until = $3 WHERE id = $1 AND lease_owner = $2"
            " RETURNING status",
            batch_id,
            worker,
            timestamp(now + lease_s),
        )
        return status

    async def release(self, batch_id: str, worker: str) -> None:
        """Give the lease up (a runner stopping): another runner may take the batch now."""
        await self.pool.execute(
            "UPDATE batches SET lease_owner = NULL, lease_until = NULL"
            " WHERE id = $1 AND lease_owner = $2",
            batch_id,
            worker,
        )

    async def done_lines(self, batch_id: str) -> set[int]:
        rows = await self.pool.fetch("SELECT line FROM batch_lines WHERE batch_id = $1", batch_id)
        return {row["line"] for row in rows}

    async def record_line(self, batch_id: str, worker: str, result: LineResult) -> str | None:
        """Keep a finished line and count it; the batch's status (a cancel shows here), or
        None when the lease is no longer ours (the result is dropped: whoever holds the
        batch now runs the line)."""
        async with self.pool.acquire() as conn, conn.transaction():
            status: str | None = await conn.fetchval(_HELD, batch_id, worker)
            if status is None:
                return None
            inserted = await conn.fetchval(
                "INSERT INTO batch_lines (batch_id, line, custom_id, ok, output)"
                " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1",
                batch_id,
                result.line,
                result.custom_id,
                result.ok,
                result.output,
            )
            if inserted:
                await conn.execute(
                    "UPDATE batches SET completed = completed + $2, failed = failed + $3,"
                    " input_tokens = input_tokens + $4, output_tokens = output_tokens + $5"
                    " WHERE id = $1",
                    batch_id,
                    int(result.ok),
                    int(not result.ok),
                    result.input_tokens,
                    result.output_tokens,
                )
        return status

    async def start_finalizing(self, batch_id: str, worker: str, now: float) -> bool:
        """in_progress -> finalizing (a batch already finalizing stays so); False when the
        lease is no longer ours."""
        status = await self.pool.fetchval(
            "UPDATE batches SET status = 'finalizing',"
            " finalizing_at = COALESCE(finalizing_at, $3)"
            " WHERE id = $1 AND lease_owner = $2 AND status IN ('in_progress', 'finalizing')"
            " RETURNING status",
            batch_id,
            worker,
            timestamp(now),
        )
        return status is not None

    async def results(self, batch_id: str) -> AsyncGenerator[LineResult, None]:
        """The finished lines in input order, read with a cursor (never all at once)."""
        async with self.pool.acquire() as conn, conn.transaction():
            cursor = conn.cursor(
                "SELECT line, custom_id, ok, output FROM batch_lines WHERE batch_id = $1"
                " ORDER BY line",
                batch_id,
                prefetch=500,
            )
            async for row in cursor:
                yield LineResult(row["line"], row["custom_id"], row["ok"], row["output"])

    async def finish(self, batch_id: str, worker: str, end: BatchEnd) -> bool:
        """The batch's last status with its files, in one transaction; its lines go. False
        when the lease is no longer ours (nothing is written)."""
        files = [record for record in (end.output_file, end.error_file) if record is not None]
        async with self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(_HELD, batch_id, worker):
                return False
            if files:
                await conn.executemany(INSERT_FILE, [row_values(record) for record in files])
            await conn.execute(
                f"UPDATE batches SET status = $3, {_WHEN[end.status]} = $4,"
                " output_file_id = $5, error_file_id = $6, errors = $7::jsonb,"
                " lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
                batch_id,
                worker,
                end.status,
                timestamp(end.at),
                end.output_file.id if end.output_file else None,
                end.error_file.id if end.error_file else None,
                json_text(end.errors or None),
            )
            await conn.execute("DELETE FROM batch_lines WHERE batch_id = $1", batch_id)
        return True
