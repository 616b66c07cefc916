"""Readiness reports every backing service; only engines decide readiness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.auth.hung_services import HungPostgres
from tests.unit.scripted_engine import ScriptedEngine


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
    assert "detail" not in components["postgres"]  # anonymous: status only
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


SECRET = "a-real-secret-of-32-characters!!"
JWT = {"jwt_secret": SECRET, "jwt_audience": "inferstack", "jwt_issuer": "https://idp.example"}


def _token() -> str:
    claims = {"sub": "ops", "aud": "inferstack", "iss": "https://idp.example", "exp": 2**31}
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.fixture
def jwt_client(models_file: Path) -> Iterator[TestClient]:
    settings = Settings(
        models_file=models_file,
        auth_mode="jwt",
        redis_url="redis://127.0.0.1:9/0",
        **JWT,  # type: ignore[arg-type]
    )
    with TestClient(create_app(settings, ModelRegistry.from_file(models_file))) as client:
        yield client


@pytest.mark.parametrize("path", ["/health/ready", "/health"])
@pytest.mark.parametrize("credential", [None, "Bearer not-a-valid-token"])
def test_anyone_on_the_open_health_paths_gets_status_only(
    jwt_client: TestClient, path: str, credential: str | None
) -> None:
    headers = {"authorization": credential} if credential else {}
    response = jwt_client.get(path, headers=headers)
    assert response.status_code in (200, 503)
    text = response.text
    assert "127.0.0.1" not in text and "http://" not in text  # no engine or service address
    assert "Error" not in text and "refused" not in text.lower()  # no exception text
    body = response.json()
    assert body["components"]["redis"] == {"status": "down", "latency_ms": ANY_NUMBER}
    assert set(body["models"]["engine-down"]) == {"llamacpp#0"}
    assert body["models"]["engine-down"]["llamacpp#0"]["status"] == "down"


def test_an_authenticated_caller_gets_why_a_component_is_down(jwt_client: TestClient) -> None:
    body = jwt_client.get("/health/ready", headers={"authorization": f"Bearer {_token()}"}).json()
    assert body["components"]["redis"]["detail"]  # e.g. ConnectionError: ... refused
    assert "detail" in body["models"]["engine-down"]["llamacpp#0"]


def test_metrics_and_engine_errors_name_no_engine_address(
    client: TestClient, engine: ScriptedEngine
) -> None:
    client.get("/health/ready")
    metrics = client.get("/metrics").text
    assert 'engine="llamacpp#0"' in metrics
    assert engine.url not in metrics and "127.0.0.1:9" not in metrics
    chat = {"model": "engine-down", "messages": [{"role": "user", "content": "hi"}]}
    response = client.post("/v1/chat/completions", json=chat)
    assert response.status_code == 503
    message = response.json()["error"]["message"]
    assert "llamacpp#0" in message
    assert "127.0.0.1" not in message and "http" not in message


class _AnyNumber:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, int | float)


ANY_NUMBER = _AnyNumber()


def test_the_admin_key_gets_the_details_with_auth_off(models_file: Path) -> None:
    admin_key = "an-admin-key-of-32-characters!!!"
    settings = Settings(
        models_file=models_file,
        redis_url="redis://127.0.0.1:9/0",
        admin_key=admin_key,  # type: ignore[arg-type]
        database_url="postgresql://u:p@127.0.0.1:9/db",  # type: ignore[arg-type]
    )
    with TestClient(create_app(settings, ModelRegistry.from_file(models_file))) as client:
        anonymous = client.get("/health/ready").json()
        admin = client.get("/health/ready", headers={"x-api-key": admin_key}).json()
        wrong = client.get("/health/ready", headers={"x-api-key": admin_key[:-1] + "?"}).json()
    assert "detail" not in anonymous["components"]["redis"]
    assert "detail" not in wrong["components"]["redis"]
    assert admin["components"]["redis"]["detail"]
