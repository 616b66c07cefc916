"""A real PostgreSQL (the native stack's embedded server) for the Files and Batch APIs'
unit tests: one server per test module, its version-5 tables emptied before each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from api_server.batchstore.schema import migrate_batch_tables
from tests.unit.stackctl.test_postgres import Server, free_port


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("batch-pg")
    server = Server(folder / "data", free_port(), folder / "postgres.log")
    try:
        result = server.setup()  # the database, no tables: the gateway makes its own
        assert result.returncode == 0, result.stderr
        yield server
    finally:
        server.stop()


def database_url(server: Server) -> str:
    return f"postgresql://app:pw%27with%20quote@127.0.0.1:{server.port}/app"


@pytest.fixture
async def pg_pool(pg_server: Server) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url(pg_server), min_size=1, max_size=4)
    try:
        async with pool.acquire() as conn:
            await migrate_batch_tables(conn)
            await conn.execute("TRUNCATE files, batches, batch_lines")
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def empty_tables(pg_server: Server) -> Server:
    """The server with the version-5 tables empty (made if missing), for a test's gateway."""
    pg_server.query(
        "DO $$ BEGIN IF to_regclass('batches') IS NOT NULL THEN"
        " TRUNCATE files, batches, batch_lines; END IF; END $$"
    )
    return pg_server
