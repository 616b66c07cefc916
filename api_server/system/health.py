"""Readiness: every engine replica and every configured backing service, with latency.

Only engines decide readiness: the gateway keeps serving without Redis (no cache), without
PostgreSQL (request logs spool to disk) and without Qdrant (no semantic cache), so those
make it "degraded", not unready. A failure's detail (exception text, which may name an
internal address) is logged, and shown only to authenticated callers (`details`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from api_server.state import AppState

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    ok: bool
    latency_ms: float
    detail: str = ""

    def as_dict(self, *, details: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "up" if self.ok else "down",
            "latency_ms": round(self.latency_ms, 2),
        }
        if details and self.detail:
            body["detail"] = self.detail
        return body


async def _timed(
    name: str, check: Callable[[], Awaitable[object]], timeout_s: float
) -> ComponentHealth:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            await check()
    except Exception as exc:  # any failure of a dependency is a "down", never a 500
        detail = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        # Debug: the engines are probed every health_interval_s, a down one would flood.
        logger.debug("health check of %s failed: %s", name, detail)
        return ComponentHealth(False, (time.perf_counter() - started) * 1000, detail[:200])
    return ComponentHealth(True, (time.perf_counter() - started) * 1000)


async def check_engines(
    state: AppState, *, details: bool = False
) -> dict[str, dict[str, dict[str, Any]]]:
    timeout = state.settings.health_probe_timeout_s
    report: dict[str, dict[str, dict[str, Any]]] = {}

    async def probe_model(name: str) -> None:
        pool = state.runtimes[name].pool
        replicas = pool.replicas
        results = await asyncio.gather(
            *(
                _timed(f"{name} {r.label} ({r.url})", _raising(r.probe, timeout), timeout)
                for r in replicas
            )
        )
        report[name] = {}
        for replica, result in zip(replicas, results, strict=True):
            if not result.ok:
                pool.mark_down(replica)
            report[name][replica.label] = {
                **result.as_dict(details=details),
                "breaker": pool.breakers[replica.index].state(time.monotonic()),
            }
            state.metrics.engine_up.labels(name, replica.label).set(1 if result.ok else 0)

    await asyncio.gather(*(probe_model(name) for name in state.runtimes))
    return report


def _raising(
    probe: Callable[[float], Awaitable[bool]], timeout: float
) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        if not await probe(timeout):
            raise ConnectionError("health check failed")

    return check


async def check_backing_services(
    state: AppState, *, details: bool = False
) -> dict[str, dict[str, Any]]:
    services = state.services
    timeout = state.settings.health_probe_timeout_s
    probes: dict[str, Awaitable[ComponentHealth]] = {}
    if services.redis is not None:
        probes["redis"] = _timed("redis", services.redis.ping, timeout)
    if (pool := services.postgres) is not None:

        def probe_postgres() -> Awaitable[ComponentHealth]:
            return _timed("postgres", lambda: _ping_postgres(pool), timeout)

        # Shared for a short time by every health request: a burst costs PostgreSQL one query.
        cache = services.postgres_health
        probes["postgres"] = _as_health(cache.get(probe_postgres)) if cache else probe_postgres()
    if services.qdrant is not None:
        probes["qdrant"] = _timed("qdrant", services.qdrant.get_collections, timeout)
    if services.object_store_path is not None:
        path = services.object_store_path
        probes["object_store"] = _timed(
            "object_store", lambda: asyncio.to_thread(_probe_folder, path), timeout
        )
    results = await asyncio.gather(*probes.values())
    return {
        name: result.as_dict(details=details) for name, result in zip(probes, results, strict=True)
    }


async def _ping_postgres(pool: asyncpg.Pool) -> None:
    connection = await pool.acquire()
    try:
        await connection.fetchval("SELECT 1")
    except BaseException:
        # Timed out on a server that does not answer: asyncpg would hold the connection,
        # shielded, until the server acknowledges a cancel. Drop it instead.
        connection.terminate()
        raise
    finally:
        await pool.release(connection)


async def _as_health(cached: Awaitable[object]) -> ComponentHealth:
    result = await cached
    assert isinstance(result, ComponentHealth)
    return result


def _probe_folder(path: os.PathLike[str]) -> None:
    probe = os.path.join(path, f".health-{uuid.uuid4().hex}")
    with open(probe, "wb") as handle:
        handle.write(b"ok")
    os.remove(probe)
