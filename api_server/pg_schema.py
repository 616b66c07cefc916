"""Schema versions the gateway brings a PostgreSQL database up to itself.

`init-scripts/postgres/init.sql` is the schema, in versioned blocks: stackctl applies it at
every native start, but compose's PostgreSQL runs it only on an empty volume, and a database
may come up after the gateway. So each part of the gateway that owns tables runs its block's
statements (all idempotent, the last one recording the version in `schema_migrations`)
before its first query, unless that version is recorded already. Several gateway processes
may start at once: an advisory lock lets one at a time do it; within a process, a
`SchemaGate` lets the first use do it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Connection = asyncpg.Connection | PoolConnectionProxy
_LOCK_ID = 0x696E66737472  # any constant of ours: "infstr"
_HAS_MIGRATIONS_TABLE = "SELECT to_regclass('schema_migrations') IS NOT NULL"
_IS_RECORDED = "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)"
_CREATE_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
)


async def apply_schema_version(conn: Connection, version: int, statements: Sequence[str]) -> bool:
    """Run `statements` (init.sql's block `version`) unless the version is recorded; True
    when they ran. A cheap check when current: no DDL, whose locks would queue behind
    running queries."""
    if await conn.fetchval(_HAS_MIGRATIONS_TABLE) and await conn.fetchval(_IS_RECORDED, version):
        return False
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
        await conn.execute(_CREATE_MIGRATIONS_TABLE)
        if await conn.fetchval(_IS_RECORDED, version):
            return False  # another process did it while we waited
        for statement in statements:
            await conn.execute(statement)
    return True


class SchemaGate:
    """Runs a migration (`apply_schema_version` of one block) once per process, on first
    use; a failure (database down) is tried again on the next use."""

    def __init__(self, migrate: Callable[[Connection], Awaitable[bool]]) -> None:
        self._migrate = migrate
        self._lock = asyncio.Lock()
        self.done = False

    async def ensure(self, conn: Connection) -> bool:
        """True when this call ran the migration's statements."""
        ran = False
        if not self.done:
            async with self._lock:
                if not self.done:
                    ran = await self._migrate(conn)
                    self.done = True
        return ran
