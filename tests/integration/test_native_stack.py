"""The native stack as `make start` runs it: every service healthy, wired to the gateway,
restarted by the supervisor when it dies."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import asyncpg
import httpx
import pytest
import redis

from stackctl.api import NativeStack
from stackctl.ports import find_port_holder

pytestmark = pytest.mark.integration


def test_gateway_reports_every_backing_service_up(http: httpx.Client) -> None:
    components = http.get("/health/ready").json()["components"]
    assert set(components) == {"redis", "postgres", "qdrant", "object_store"}
    assert {name: c["status"] for name, c in components.items()} == dict.fromkeys(components, "up")


def test_schema_is_applied(native_stack: NativeStack) -> None:
    dsn = native_stack.env("gateway")["INFERSTACK_DATABASE_URL"]

    async def tables() -> set[str]:
        connection = await asyncpg.connect(dsn)
        try:
            rows = await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            )
            return {row["tablename"] for row in rows}
        finally:
            await connection.close()

    assert {"request_logs", "api_keys", "schema_migrations"} <= asyncio.run(tables())


def test_redis_is_real_and_persistent(native_stack: NativeStack) -> None:
    client = redis.Redis.from_url(native_stack.env("gateway")["INFERSTACK_REDIS_URL"])
    client.set("inferstack:test", "kept")
    assert client.get("inferstack:test") == b"kept"
    assert client.config_get("appendonly") == {"appendonly": "yes"}


def test_supervisor_restarts_a_killed_engine(native_stack: NativeStack) -> None:
    engine = native_stack.url("engine")
    pid = _listener_pid(native_stack.port("engine"))
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{engine}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    assert httpx.get(f"{engine}/health", timeout=1).status_code == 200
    assert _listener_pid(native_stack.port("engine")) != pid


def _listener_pid(port: int) -> int:
    holder = find_port_holder(port)
    assert holder is not None, f"nothing listens on {port}"
    return holder.pid
