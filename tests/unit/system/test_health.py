"""Readiness reports every backing service; only engines decide readiness."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.auth.hung_services import HungPostgres


def test_components_are_reported_with_status_and_latency(models_file: Path, tmp_path: Path) -> None:
    settings = Settings(
        models_file=models_file,
        redis_url="redis://127.0.0.1:9/0",  # closed port: down
        database_url="postgresql://u:p@127.0.0.1:9/db",  # type: ignore[arg-type]
        qdrant_path=tmp_path / "qdrant",
        object_store_path=tmp_path / "objects",
    )
    app = create_app(settings, ModelRegistry.from_file(models_file))
    with TestClient(app) as client:
        body = client.get("/health/ready").json()
    components = body["components"]
    assert set(components) == {"redis", "postgres", "qdrant", "object_store"}
    assert components["redis"]["status"] == "down"
    assert components["postgres"]["status"] == "down"
    assert "detail" in components["postgres"]
    assert components["qdrant"]["status"] == "up"
    assert components["object_store"]["status"] == "up"
    assert all(c["latency_ms"] >= 0 for c in components.values())
    assert list((tmp_path / "objects").iterdir()) == []  # the probe cleans up after itself


def test_gateway_starts_with_every_backing_service_down(models_file: Path) -> None:
    settings = Settings(
        models_file=models_file,
        redis_url="redis://127.0.0.1:9/0",
        database_url="postgresql://u:p@127.0.0.1:9/db",  # type: ignore[arg-type]
    )
    app = create_app(settings, ModelRegistry.from_file(models_file))
    with TestClient(app) as client:
        chat = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}]}
        assert client.post("/v1/chat/completions", json=chat).status_code == 200


def test_a_hung_database_is_checked_once_per_cache_period(models_file: Path) -> None:
    hung = HungPostgres("after_startup")
    settings = Settings(
        models_file=models_file,
        database_url=hung.dsn,  # type: ignore[arg-type]
        health_probe_timeout_s=0.3,
        health_database_cache_s=3600,
    )
    app = create_app(settings, ModelRegistry.from_file(models_file))
    try:
        with TestClient(app) as client:
            answers = [client.get(path).json() for path in ["/health/ready", "/health"] * 3]
    finally:
        hung.close()
    assert all(answer["components"]["postgres"]["status"] == "down" for answer in answers)
    assert hung.startups == 1  # six health answers, one database check
