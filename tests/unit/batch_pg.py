"""A real PostgreSQL (the native stack's embedded server) for the Files and Batch APIs'
unit tests: one server per test module, its version-5 tables emptied before each test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.batches.background import build_batch_runner
from api_server.batchstore.schema import migrate_batch_tables
from api_server.config import Settings
from api_server.registry import ModelRegistry
from api_server.state import AppState
from tests.unit.auth.fakes import ListSink
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


def storage_gateway(
    models_file: Path, server: Server | None, objects: Path | None, **settings: Any
) -> TestClient:
    """The gateway with the Files and Batch APIs' storage (PostgreSQL when `server`, the
    folder `objects`), its runner not started unless `batch_runner_enabled` (a test runs it:
    `run_batches`), request-log rows in `settings["request_log"]` when given."""
    request_log = settings.pop("request_log", None) or ListSink()
    settings.setdefault("batch_runner_enabled", False)
    app = create_app(
        Settings(
            models_file=models_file,
            database_url=database_url(server) if server is not None else None,  # type: ignore[arg-type]
            object_store_path=objects,
            **settings,
        ),
        ModelRegistry.from_file(models_file),
        request_log=request_log,
    )
    return TestClient(app)


def run_batches(client: TestClient) -> list[str]:
    """Run every batch waiting, to its end, on the app's own event loop."""
    state: AppState = client.app.state.inferstack  # type: ignore[attr-defined]
    runner = build_batch_runner(state)
    assert runner is not None and client.portal is not None
    return client.portal.call(runner.run_pending)
