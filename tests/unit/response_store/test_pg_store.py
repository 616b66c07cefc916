"""Stored responses in a real PostgreSQL (the embedded server the native stack runs): the
table made by init.sql, or by the store itself on a database older than version 4; every
read scoped to one tenant; chains read back oldest first, bounded; a database that is down
is a 503, never a 500."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from api_server.errors import ResponsesUnavailableError
from api_server.response_store.pg_store import PostgresResponseStore
from api_server.response_store.record import StoredResponse
from api_server.response_store.schema import MIGRATION_V4, migrate_responses
from tests.unit.stackctl.test_postgres import INIT_SQL, Server, free_port

# What a database without version 4 lacks (another version may be there: 5, the Batch API).
WITHOUT_V4 = "DROP TABLE responses; DELETE FROM schema_migrations WHERE version = 4"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("pg")
    server = Server(folder / "data", free_port(), folder / "postgres.log")
    try:
        assert server.setup(INIT_SQL).returncode == 0
        yield server
    finally:
        server.stop()


@pytest.fixture
async def pool(server: Server) -> AsyncIterator[asyncpg.Pool]:
    url = f"postgresql://app:pw%27with%20quote@127.0.0.1:{server.port}/app"
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


def record(response_id: str, tenant: str | None, previous: StoredResponse | None = None,
           text: str = "hello") -> StoredResponse:  # fmt: skip
    item = {"id": f"msg_{response_id}", "type": "message", "role": "user",
            "status": "completed", "content": [{"type": "input_text", "text": text}]}  # fmt: skip
    return StoredResponse(
        id=response_id,
        tenant=tenant,
        created_at=1_700_000_000.5,
        model="tiny",
        previous_response_id=previous.id if previous else None,
        input_items=[item],
        output_items=[{**item, "id": f"out_{response_id}", "role": "assistant"}],
        response={"id": response_id, "object": "response", "status": "completed"},
        depth=(previous.depth if previous else 0) + 1,
        history_bytes=(previous.history_bytes if previous else 0) + 100,
    )


async def test_save_get_chain_delete_per_tenant(server: Server, pool: asyncpg.Pool) -> None:
    server.query("DELETE FROM responses")
    store = PostgresResponseStore(pool)
    first = record("resp_1", "key:a", text="NUL \x00 and ünïcode")  # jsonb would refuse NUL
    second = record("resp_2", "key:a", first)
    third = record("resp_3", "key:a", second)
    anonymous = record("resp_1", None)  # the same id, another tenant: a row of its own
    for saved in (first, second, third, anonymous):
        await store.save(saved)
    assert await store.get("key:a", "resp_1") == first
    assert await store.get(None, "resp_1") == anonymous
    assert await store.get("key:b", "resp_1") is None
    assert await store.get("key:a", "resp_9") is None
    assert await store.chain("key:a", "resp_3", 100) == [first, second, third]
    assert await store.chain("key:a", "resp_3", 2) == [second, third]
    assert await store.chain("key:b", "resp_3", 100) == []
    assert await store.chain(None, "resp_1", 100) == [anonymous]
    assert await store.delete("key:b", "resp_2") is False  # another tenant's: not there
    assert await store.delete("key:a", "resp_2") is True
    assert await store.delete("key:a", "resp_2") is False
    assert await store.chain("key:a", "resp_3", 100) == [third]  # shorter than its depth
    assert server.query("SELECT tenant, id FROM responses ORDER BY 1, 2") == (
        "|resp_1\nkey:a|resp_1\nkey:a|resp_3\n"
    )


async def test_the_store_creates_its_table_on_a_database_without_version_4(
    server: Server, pool: asyncpg.Pool
) -> None:
    server.query(WITHOUT_V4)
    try:
        store = PostgresResponseStore(pool)
        await store.save(record("resp_1", None))
        assert server.query("SELECT id FROM responses") == "resp_1\n"
        assert server.query("SELECT count(*) FROM schema_migrations WHERE version = 4") == "1\n"
        async with pool.acquire() as conn:
            assert await migrate_responses(conn) is False  # current: nothing to do
    finally:
        server.query("DELETE FROM responses")


async def test_a_gateway_on_a_database_without_version_4_creates_the_table(
    server: Server, models_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compose volume older than version 4: the gateway creates the table before it
    first uses it."""
    from fastapi.testclient import TestClient

    from api_server.app import create_app
    from api_server.config import Settings
    from api_server.registry import ModelRegistry

    server.query(WITHOUT_V4)
    url = f"postgresql://app:pw%27with%20quote@127.0.0.1:{server.port}/app"
    settings = Settings(models_file=models_file, database_url=url)
    app = create_app(settings, ModelRegistry.from_file(models_file))
    with TestClient(app) as client:
        created = client.post("/v1/responses", json={"model": "tiny", "input": "hi"})
        assert created.status_code == 200, created.text
        response_id = created.json()["id"]
        assert client.get(f"/v1/responses/{response_id}").json() == created.json()
    assert server.query("SELECT count(*) FROM responses") == "1\n"
    server.query("DELETE FROM responses")


async def test_a_database_that_is_down_is_unavailable_not_an_error() -> None:
    url = f"postgresql://app:pw@127.0.0.1:{free_port()}/app"
    pool = await asyncpg.create_pool(url, min_size=0, max_size=1, timeout=2)
    try:
        store = PostgresResponseStore(pool, acquire_timeout_s=2)
        with pytest.raises(ResponsesUnavailableError):
            await store.get(None, "resp_1")
        with pytest.raises(ResponsesUnavailableError):
            await store.save(record("resp_1", None))
    finally:
        await pool.close()


def test_the_store_runs_init_sqls_version_4_statements() -> None:
    def normal(sql: str) -> str:
        return re.sub(r"\s+", " ", sql).replace("( ", "(").replace(" )", ")").strip()

    init_sql = re.sub(r"--[^\n]*", "", INIT_SQL.read_text())
    block = init_sql[init_sql.index("CREATE TABLE IF NOT EXISTS responses") :]
    statements = [normal(s) for s in block.split(";") if s.strip()][: len(MIGRATION_V4)]
    assert [normal(statement) for statement in MIGRATION_V4] == statements
