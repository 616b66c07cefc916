"""The Files and Batch APIs' tables: the gateway creates them itself (one process at a time,
once), with exactly init.sql's version-5 statements."""

from __future__ import annotations

import asyncio
import re

import asyncpg

from api_server.batchstore.schema import MIGRATION_V5, migrate_batch_tables
from tests.unit.batch_pg import database_url, pg_server
from tests.unit.stackctl.test_postgres import INIT_SQL, Server

__all__ = ["pg_server"]

DROP_ALL = (
    "DROP TABLE IF EXISTS files, batches, batch_lines, schema_migrations, request_logs, api_keys"
)


def _normal(sql: str) -> str:
    sql = re.sub(r"\s+", " ", sql).strip()
    return re.sub(r"\s*([(),])\s*", r"\1", sql)


def test_the_gateway_runs_init_sqls_version_5_statements() -> None:
    init_sql = re.sub(r"--[^\n]*", "", INIT_SQL.read_text())
    block = init_sql[init_sql.index("CREATE TABLE IF NOT EXISTS files") :]
    statements = [_normal(s) for s in block.split(";") if s.strip()]
    # Version 5's block ends where it records itself; a later version's block may follow.
    end = statements.index(_normal(MIGRATION_V5[-1])) + 1
    assert [_normal(statement) for statement in MIGRATION_V5] == statements[:end]


async def test_several_processes_starting_at_once_migrate_once(pg_server: Server) -> None:
    pg_server.query(DROP_ALL)
    pools = [
        await asyncpg.create_pool(database_url(pg_server), min_size=1, max_size=1) for _ in range(3)
    ]
    try:

        async def migrate(pool: asyncpg.Pool) -> bool:
            async with pool.acquire() as conn:
                return await migrate_batch_tables(conn)

        assert sorted(await asyncio.gather(*map(migrate, pools))) == [False, False, True]
        assert await migrate(pools[0]) is False
    finally:
        for pool in pools:
            await pool.close()
    assert pg_server.query("SELECT version FROM schema_migrations") == "5\n"
    assert pg_server.query("SELECT to_regclass('batch_lines') IS NOT NULL") == "t\n"


async def test_a_database_made_by_init_sql_needs_nothing_more(pg_server: Server) -> None:
    pg_server.query(DROP_ALL)
    result = pg_server.setup(INIT_SQL)
    assert result.returncode == 0, result.stderr
    assert "5" in pg_server.query("SELECT version FROM schema_migrations").split()
    conn = await asyncpg.connect(database_url(pg_server))
    try:
        assert await migrate_batch_tables(conn) is False
    finally:
        await conn.close()
