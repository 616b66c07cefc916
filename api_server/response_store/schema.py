"""The `responses` table, created at start when the database predates it.

`init-scripts/postgres/init.sql` is the schema (its version-4 block), applied at every
native start; compose's PostgreSQL runs it only on an empty volume. So the store creates
the table itself (the same statements as that block, all idempotent; a unit test keeps the
two alike) before it first reads or writes, as the request-log writer does for its table
(no connection at start: the pool connects lazily). Several gateway processes may start at
once: an advisory lock lets one of them do it at a time.
"""

from __future__ import annotations

import asyncpg
from asyncpg.pool import PoolConnectionProxy

SCHEMA_VERSION = 4
# Statements of init.sql's version-4 block, in its order.
MIGRATION_V4 = (
    "CREATE TABLE IF NOT EXISTS responses ("
    " tenant text NOT NULL,"
    " id text NOT NULL,"
    " created_at timestamptz NOT NULL,"
    " model text NOT NULL,"
    " previous_response_id text,"
    " depth integer NOT NULL,"
    " history_bytes bigint NOT NULL,"
    " input_items json NOT NULL,"
    " output_items json NOT NULL,"
    " response json NOT NULL,"
    " PRIMARY KEY (tenant, id)"
    ")",
    "INSERT INTO schema_migrations (version) VALUES (4) ON CONFLICT (version) DO NOTHING",
)
_LOCK_ID = 0x696E66727370  # any constant of ours: "infrsp"
_IS_CURRENT = "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)"


async def migrate_responses(conn: asyncpg.Connection | PoolConnectionProxy) -> bool:
    """Create the `responses` table unless the database has schema version 4; True when
    it had to."""
    if await conn.fetchval(_IS_CURRENT, SCHEMA_VERSION):
        return False
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_ID)
        if await conn.fetchval(_IS_CURRENT, SCHEMA_VERSION):
            return False  # another process did it while we waited
        for statement in MIGRATION_V4:
            await conn.execute(statement)
    return True
