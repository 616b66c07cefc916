"""The Files and Batch APIs' tables (init.sql's version-5 block), created by the gateway
itself before their first use.

stackctl applies init.sql at every native start, but compose's PostgreSQL runs it only on
an empty volume, and a database may come up after the gateway: so the first query of either
API (or of the batch runner) runs these statements, all idempotent, once per process, through
pg_schema. A unit test keeps them equal to init.sql's block.
"""

from __future__ import annotations

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from api_server.pg_schema import apply_schema_version

SCHEMA_VERSION = 5
MIGRATION_V5 = (
    "CREATE TABLE IF NOT EXISTS files ("
    " id text PRIMARY KEY,"
    " owner text NOT NULL,"
    " purpose text NOT NULL,"
    " filename text NOT NULL,"
    " bytes bigint NOT NULL,"
    " object_key text NOT NULL,"
    " created_at timestamptz NOT NULL)",
    "CREATE INDEX IF NOT EXISTS files_owner_created_at_idx ON files (owner, created_at, id)",
    "CREATE TABLE IF NOT EXISTS batches ("
    " id text PRIMARY KEY,"
    " owner text NOT NULL,"
    " api_key_id text,"
    " endpoint text NOT NULL,"
    " model text NOT NULL,"
    " input_file_id text NOT NULL,"
    " input_object_key text NOT NULL,"
    " completion_window text NOT NULL,"
    " status text NOT NULL,"
    " metadata jsonb,"
    " total integer NOT NULL,"
    " completed integer NOT NULL DEFAULT 0,"
    " failed integer NOT NULL DEFAULT 0,"
    " input_tokens bigint NOT NULL DEFAULT 0,"
    " output_tokens bigint NOT NULL DEFAULT 0,"
    " output_file_id text,"
    " error_file_id text,"
    " errors jsonb,"
    " created_at timestamptz NOT NULL,"
    " expires_at timestamptz NOT NULL,"
    " in_progress_at timestamptz,"
    " finalizing_at timestamptz,"
    " completed_at timestamptz,"
    " failed_at timestamptz,"
    " expired_at timestamptz,"
    " cancelling_at timestamptz,"
    " cancelled_at timestamptz,"
    " lease_owner text,"
    " lease_until timestamptz)",
    "CREATE INDEX IF NOT EXISTS batches_owner_created_at_idx ON batches (owner, created_at, id)",
    "CREATE INDEX IF NOT EXISTS batches_active_idx ON batches (created_at)"
    " WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling')",
    "CREATE TABLE IF NOT EXISTS batch_lines ("
    " batch_id text NOT NULL,"
    " line integer NOT NULL,"
    " custom_id text NOT NULL,"
    " ok boolean NOT NULL,"
    " output bytea NOT NULL,"
    " PRIMARY KEY (batch_id, line))",
    "INSERT INTO schema_migrations (version) VALUES (5) ON CONFLICT (version) DO NOTHING",
)


async def migrate_batch_tables(conn: asyncpg.Connection | PoolConnectionProxy) -> bool:
    """Create the version-5 tables unless there; True when it had to."""
    return await apply_schema_version(conn, SCHEMA_VERSION, MIGRATION_V5)
