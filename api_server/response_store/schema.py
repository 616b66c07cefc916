"""The `responses` table, created at start when the database predates it.

`init-scripts/postgres/init.sql` is the schema (its version-4 block), applied at every
native start; compose's PostgreSQL runs it only on an empty volume. So the store creates
the table itself (the same statements as that block, all idempotent; a unit test keeps the
two alike) before it first reads or writes, as the request-log writer does for its table
(no connection at start: the pool connects lazily), through pg_schema.
"""

from __future__ import annotations

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from api_server.pg_schema import apply_schema_version

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


async def migrate_responses(conn: asyncpg.Connection | PoolConnectionProxy) -> bool:
    """Create the `responses` table unless the database has schema version 4; True when
    it had to."""
    return await apply_schema_version(conn, SCHEMA_VERSION, MIGRATION_V4)
