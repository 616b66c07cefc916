"""The logs API over HTTP without a database: off by default, 400s naming the parameter,
503 when PostgreSQL is not configured or not answering. (With one: the integration tests.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from stackctl.api import free_port


def _client(models_file: Path, **settings: Any) -> TestClient:
    app = create_app(
        Settings(models_file=models_file, **settings), ModelRegistry.from_file(models_file)
    )
    return TestClient(app)


# Auth is off in these tests: anonymous reading has to be opted in (see test_access.py).
OPEN = {"logs_api_enabled": True, "logs_api_allow_anonymous": True}


@pytest.fixture
def no_database(models_file: Path) -> Iterator[TestClient]:
    with _client(models_file, **OPEN) as client:
        yield client


@pytest.fixture
def database_down(models_file: Path) -> Iterator[TestClient]:
    url = f"postgresql://inferstack:x@127.0.0.1:{free_port()}/inferstack"
    with _client(models_file, **OPEN, database_url=url) as client:
        yield client


@pytest.mark.parametrize("path", ["/v1/logs", "/v1/logs/abc", "/v1/usage"])
def test_off_by_default(models_file: Path, path: str) -> None:
    with _client(models_file) as client:
        response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/v1/logs?limit=1000", "limit"),
        ("/v1/logs?limit=%C2%B2", "limit"),  # "²": a 500 while str.isdigit judged it
        ("/v1/logs?status=teapot", "status"),
        ("/v1/logs?since=never", "since"),
        ("/v1/logs?cursor=abc", "cursor"),
        ("/v1/usage?group_by=hour", "group_by"),
        ("/v1/usage?since=2025-02-01&until=2025-01-01", "until"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    database_down: TestClient, path: str, param: str
) -> None:
    response = database_down.get(path)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)


@pytest.mark.parametrize("path", ["/v1/logs", "/v1/logs/abc", "/v1/usage?group_by=day"])
def test_postgres_down_is_503(database_down: TestClient, path: str) -> None:
    response = database_down.get(path)
    assert response.status_code == 503
    assert response.json()["error"] == {
        "message": "The request-log database is unavailable",
        "type": "service_unavailable",
        "param": None,
        "code": "logs_unavailable",
    }


def test_no_database_configured_is_503(no_database: TestClient) -> None:
    response = no_database.get("/v1/usage")
    assert response.status_code == 503
    assert "database_url" in response.json()["error"]["message"]
