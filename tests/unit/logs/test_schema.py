"""A request_logs table of schema version 1 (before the tenant and client_request_id
columns) or 2 (before agent_id) is brought up to date, by init.sql (native starts) and by
the gateway's writer itself (compose runs init.sql only on an empty volume), keeping its
rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from api_server.logs.pg_store import PostgresLogStore
from api_server.logs.record import RequestLogRecord
from api_server.logs.schema import MIGRATIONS, migrate_request_logs
from tests.unit.stackctl.test_postgres import INIT_SQL, Server, free_port

# What version 2 lacked.
DOWNGRADE_TO_2 = (
    "DROP INDEX request_logs_agent_received_at_idx; "
    "ALTER TABLE request_logs DROP COLUMN agent_id; "
    "DELETE FROM schema_migrations WHERE version = 3; "
)
# What version 1 lacked.
DOWNGRADE = DOWNGRADE_TO_2 + (
    "DROP INDEX request_logs_tenant_received_at_idx; "
    "DROP INDEX request_logs_client_request_id_idx; "
    "ALTER TABLE request_logs DROP COLUMN tenant, DROP COLUMN client_request_id; "
    "DELETE FROM schema_migrations WHERE version = 2; "
    "INSERT INTO request_logs (id, received_at, endpoint, api_flavour) "
    "VALUES ('old-row', now(), '/v1/chat/completions', 'openai')"
)
COLUMNS = (
    "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns "
    "WHERE table_name = 'request_logs'"
    " AND column_name IN ('tenant', 'client_request_id', 'agent_id')"
)


@pytest.fixture
def version_1(tmp_path: Path) -> Iterator[Server]:
    server = Server(tmp_path / "pg" / "data", free_port(), tmp_path / "postgres.log")
    try:
        assert server.setup(INIT_SQL).returncode == 0
        server.query(DOWNGRADE)
        assert server.query(COLUMNS) == "\n"
        yield server
    finally:
        server.stop()


def _url(server: Server) -> str:
    return f"postgresql://app:pw%27with%20quote@127.0.0.1:{server.port}/app"


def test_init_sql_migrates_a_version_1_table(version_1: Server) -> None:
    result = version_1.setup(INIT_SQL)
    assert result.returncode == 0, result.stderr
    assert version_1.query(COLUMNS) == "agent_id,client_request_id,tenant\n"
    assert (
        version_1.query("SELECT version FROM schema_migrations ORDER BY 1") == "1\n2\n3\n4\n5\n6\n"
    )
    assert version_1.query("SELECT id FROM request_logs") == "old-row\n"


async def test_the_writer_migrates_a_version_1_table_before_its_first_insert(
    version_1: Server,
) -> None:
    pool = await asyncpg.create_pool(_url(version_1), min_size=1, max_size=2)
    try:
        store = PostgresLogStore(pool)
        record = RequestLogRecord(
            id="new-row",
            received_at=datetime.now(UTC),
            endpoint="/v1/chat/completions",
            api_flavour="openai",
            tenant="key:k1",
            client_request_id="mine",
            agent_id="agent-7",
        )
        assert await store.insert([record]) == (1, 0)
        assert await store.insert([record]) == (0, 0)  # a duplicate: the writer counts it
        async with pool.acquire() as conn:
            assert await migrate_request_logs(conn) is False  # current: nothing to do
            rows = await conn.fetch(
                "SELECT id, tenant, client_request_id, agent_id FROM request_logs ORDER BY id"
            )
    finally:
        await pool.close()
    assert [tuple(row) for row in rows] == [
        ("new-row", "key:k1", "mine", "agent-7"),
        ("old-row", None, None, None),
    ]
    assert version_1.query(COLUMNS) == "agent_id,client_request_id,tenant\n"


async def test_the_writer_migrates_a_version_2_table(tmp_path: Path) -> None:
    server = Server(tmp_path / "pg" / "data", free_port(), tmp_path / "postgres.log")
    try:
        assert server.setup(INIT_SQL).returncode == 0
        server.query(DOWNGRADE_TO_2)
        assert server.query(COLUMNS) == "client_request_id,tenant\n"
        pool = await asyncpg.create_pool(_url(server), min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn:
                assert await migrate_request_logs(conn) is True
                assert await migrate_request_logs(conn) is False
        finally:
            await pool.close()
        assert server.query(COLUMNS) == "agent_id,client_request_id,tenant\n"
        assert (
            server.query("SELECT version FROM schema_migrations ORDER BY 1") == "1\n2\n3\n4\n5\n6\n"
        )
    finally:
        server.stop()


def test_the_writer_runs_init_sqls_version_2_and_3_statements() -> None:
    def normal(sql: str) -> str:
        return re.sub(r"\s+", " ", sql).strip()

    init_sql = normal(re.sub(r"--[^\n]*", "", INIT_SQL.read_text()))
    block = init_sql[init_sql.index("ALTER TABLE request_logs") :]
    assert [normal(statement) for statement in MIGRATIONS] == [
        statement.strip() for statement in block.split(";") if statement.strip()
    ][: len(MIGRATIONS)]
