"""The api_keys table's later columns (init.sql's version-6 block), added by the gateway
itself before its first key query: compose's PostgreSQL runs init.sql only on an empty
volume, so a database from before them gets them here. A unit test keeps these statements
equal to init.sql's block."""

from __future__ import annotations

from api_server.pg_schema import Connection, apply_schema_version

SCHEMA_VERSION = 6
MIGRATION_V6 = (
    "ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS priority text"
    " CHECK (priority IN ('high', 'normal', 'low'))",
    "INSERT INTO schema_migrations (version) VALUES (6) ON CONFLICT (version) DO NOTHING",
)


async def migrate_api_keys(conn: Connection) -> bool:
    """Bring api_keys to version 6 unless it is; True when it had to."""
    return await apply_schema_version(conn, SCHEMA_VERSION, MIGRATION_V6)
