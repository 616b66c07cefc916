"""Who may call the logs API: the admin key and authenticated callers get through to the
database (here unreachable: 503), anonymous callers are refused (403) unless opted in, and
bad credentials are 401; always in OpenAI's envelope."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from starlette.datastructures import Headers

from api_server.app import create_app
from api_server.auth.authenticator import build_authenticator
from api_server.config import Settings
from api_server.errors import AuthenticationError
from api_server.registry import ModelRegistry
from stackctl.api import free_port
from tests.unit.auth.fakes import ListSink, MemoryKeyStore

ADMIN = "an-admin-key-long-enough"
SECRET = "a-shared-secret-of-32-characters"
PATHS = ["/v1/logs", "/v1/logs/abc", "/v1/usage?group_by=key"]


def _gateway(models_file: Path, keys: MemoryKeyStore, **settings: Any) -> TestClient:
    database = f"postgresql://u:p@127.0.0.1:{free_port()}/x"  # nothing listens there
    app = create_app(
        Settings(models_file=models_file, logs_api_enabled=True, database_url=database, **settings),
        ModelRegistry.from_file(models_file),
        request_log=ListSink(),
        key_store=keys,
    )
    return TestClient(app)


@pytest.fixture
def keys() -> MemoryKeyStore:
    return MemoryKeyStore()


@pytest.fixture
def api_key_mode(models_file: Path, keys: MemoryKeyStore) -> Iterator[TestClient]:
    with _gateway(models_file, keys, auth_mode="api_key", admin_key=ADMIN) as client:
        yield client


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


@pytest.mark.parametrize("path", PATHS)
def test_auth_off_refuses_anonymous_readers(
    models_file: Path, keys: MemoryKeyStore, path: str
) -> None:
    with _gateway(models_file, keys) as client:
        error = _error(client.get(path), 403)
    assert (error["type"], error["code"]) == ("permission_error", "logs_access_denied")
    assert "logs_api_allow_anonymous" in error["message"]


@pytest.mark.parametrize("path", PATHS)
def test_auth_off_with_anonymous_reading_allowed(
    models_file: Path, keys: MemoryKeyStore, path: str
) -> None:
    with _gateway(models_file, keys, logs_api_allow_anonymous=True) as client:
        assert _error(client.get(path), 503)["code"] == "logs_unavailable"


@pytest.mark.parametrize("path", PATHS)
def test_auth_off_the_admin_key_still_reads(
    models_file: Path, keys: MemoryKeyStore, path: str
) -> None:
    with _gateway(models_file, keys, admin_key=ADMIN) as client:
        assert _error(client.get(path), 403)["code"] == "logs_access_denied"
        response = client.get(path, headers={"authorization": f"Bearer {ADMIN}"})
        assert _error(response, 503)["code"] == "logs_unavailable"


@pytest.mark.parametrize("path", PATHS)
def test_keys_and_the_admin_key_get_through_others_are_401(
    api_key_mode: TestClient, keys: MemoryKeyStore, path: str
) -> None:
    _, key = keys.add("team-a")
    for headers in ({"authorization": f"Bearer {key}"}, {"x-api-key": ADMIN}):
        assert _error(api_key_mode.get(path, headers=headers), 503)["code"] == "logs_unavailable"
    for headers in ({}, {"x-api-key": ADMIN + "x"}, {"x-api-key": "isk-" + "0" * 32}):
        assert _error(api_key_mode.get(path, headers=headers), 401)["code"] == "invalid_api_key"


def test_a_jwt_subject_gets_through(models_file: Path, keys: MemoryKeyStore) -> None:
    token = jwt.encode({"sub": "bob", "exp": int(time.time()) + 60}, SECRET, "HS256")
    with _gateway(
        models_file,
        keys,
        auth_mode="jwt",
        jwt_secret=SECRET,
        jwt_verify_audience=False,
        jwt_verify_issuer=False,
        jwt_default_models=["*"],
    ) as client:
        response = client.get("/v1/logs", headers={"authorization": f"Bearer {token}"})
        assert _error(response, 503)["code"] == "logs_unavailable"
        assert _error(client.get("/v1/logs"), 401)["code"] == "invalid_api_key"


@pytest.mark.parametrize("mode", ["none", "api_key"])
async def test_the_admin_key_authenticates_as_the_admin_in_every_mode(mode: str) -> None:
    settings = Settings(auth_mode=mode, admin_key=ADMIN, database_url="postgresql://u:p@h/x")
    auth = build_authenticator(settings, None, keys=MemoryKeyStore())
    for headers in ({"x-api-key": ADMIN}, {"authorization": f"bearer {ADMIN}"}):
        principal = await auth.authenticate("/v1/logs", Headers(headers))
        assert principal.admin and principal.tenant == "admin"
    for headers in ({"x-api-key": ADMIN[:-1]}, {"x-api-key": ADMIN + "x"}, {}):
        try:
            principal = await auth.authenticate("/v1/logs", Headers(headers))
        except AuthenticationError:
            continue  # api_key mode: not a key at all
        assert not principal.admin and principal.tenant is None


async def test_no_admin_key_set_makes_nobody_the_admin(keys: MemoryKeyStore) -> None:
    auth = build_authenticator(Settings(), None, keys=keys)
    assert not (await auth.authenticate("/v1/logs", Headers({"x-api-key": ADMIN}))).admin
