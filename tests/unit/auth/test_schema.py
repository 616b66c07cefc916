"""api_keys' version 6 (a key's priority class): added by init.sql and, on a database from
before it, by the key repository itself before its first query, keeping the keys."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from api_server.auth.keys import hash_key
from api_server.auth.repository import ApiKeyRepository
from api_server.auth.schema import MIGRATION_V6, migrate_api_keys
from tests.unit.stackctl.test_postgres import INIT_SQL, Server, free_port

DOWNGRADE_TO_5 = (
    "ALTER TABLE api_keys DROP COLUMN priority; "
    "DELETE FROM schema_migrations WHERE version = 6; "
    "INSERT INTO api_keys (name, prefix, key_hash) VALUES ('old', 'isk-old', 'old-hash')"
)
HAS_PRIORITY = (
    "SELECT count(*) FROM information_schema.columns "
    "WHERE table_name = 'api_keys' AND column_name = 'priority'"
)


def test_the_repository_runs_init_sqls_version_6_statements() -> None:
    def normal(sql: str) -> str:
        return re.sub(r"\s+", " ", sql).strip()

    init_sql = re.sub(r"--[^\n]*", "", INIT_SQL.read_text())
    block = init_sql[init_sql.index("ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS priority") :]
    statements = [normal(s) for s in block.split(";") if s.strip()][: len(MIGRATION_V6)]
    assert [normal(statement) for statement in MIGRATION_V6] == statements


@pytest.fixture
def version_5(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path / "pg" / "data", free_port(), tmp_path / "postgres.log")
    try:
        assert server.setup(INIT_SQL).returncode == 0
        server.query(DOWNGRADE_TO_5)
        assert server.query(HAS_PRIORITY) == "0\n"
        yield server
    finally:
        server.stop()


async def test_a_version_5_table_gains_priority_at_the_first_lookup(version_5: Server) -> None:
    url = f"postgresql://app:pw%27with%20quote@127.0.0.1:{version_5.port}/app"
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        keys = ApiKeyRepository(pool)
        old = await keys.find_by_hash("old-hash")
        assert old is not None and old.name == "old" and old.priority is None
        created, key = await ApiKeyRepository(pool).create("batchy", priority="low")
        assert created.priority == "low"
        found = await ApiKeyRepository(pool).find_by_hash(hash_key(key))
        assert found is not None and found.priority == "low"
        async with pool.acquire() as conn:
            assert await migrate_api_keys(conn) is False  # current: nothing to do
            with pytest.raises(asyncpg.CheckViolationError):
                await conn.execute("UPDATE api_keys SET priority = 'urgent'")
    finally:
        await pool.close()
    assert version_5.query(HAS_PRIORITY) == "1\n"
