"""The request-log columns this gateway writes, added to an older `request_logs` at start.

`init-scripts/postgres/init.sql` is the schema: stackctl applies it at every native start,
but compose's PostgreSQL runs it only on an empty volume. So the writer brings a version-1
table up to date itself before its first insert (the same statements as init.sql's version 2
and 3 blocks, all idempotent, so a version-2 table runs them too; a unit test keeps the two
alike), through pg_schema.apply_schema_version.
"""

from __future__ import annotations

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from api_server.pg_schema import apply_schema_version

SCHEMA_VERSION = 3
# Statements of init.sql's version-2 block, in its order.
MIGRATION_V2 = (
    "ALTER TABLE request_logs ADD COLUMN IF NOT EXISTS tenant text",
    "ALTER TABLE request_logs ADD COLUMN IF NOT EXISTS client_request_id text",
    "CREATE INDEX IF NOT EXISTS request_logs_tenant_received_at_idx"
    " ON request_logs (tenant, received_at, id)",
    "CREATE INDEX IF NOT EXISTS request_logs_client_request_id_idx"
    " ON request_logs (client_request_id) WHERE client_request_id IS NOT NULL",
    "INSERT INTO schema_migrations (version) VALUES (2) ON CONFLICT (version) DO NOTHING",
)
# Statements of init.sql's version-3 block: the agent id (X-Agent-ID) of each row.
MIGRATION_V3 = (
    "ALTER TABLE request_logs ADD COLUMN IF NOT EXISTS agent_id text",
    "CREATE INDEX IF NOT EXISTS request_logs_agent_received_at_idx"
    " ON request_logs (agent_id, received_at) WHERE agent_id IS NOT NULL",
    "INSERT INTO schema_migrations (version) VALUES (3) ON CONFLICT (version) DO NOTHING",
)
MIGRATIONS = MIGRATION_V2 + MIGRATION_V3


async def migrate_request_logs(conn: asyncpg.Connection | PoolConnectionProxy) -> bool:
    """Bring `request_logs` to SCHEMA_VERSION; True when it had to."""
    return await apply_schema_version(conn, SCHEMA_VERSION, MIGRATIONS)
