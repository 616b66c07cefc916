"""privacy_mode wins over every setting that would keep a request's content, and the log
row keeps nothing the request body said."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.interceptors.config import EventRecorderSpec, PrinterSpec
from api_server.registry import ModelRegistry
from tests.unit.auth.fakes import ListSink


def test_privacy_mode_forces_content_keepers_off(tmp_path: object) -> None:
    settings = Settings(
        privacy_mode=True,
        cache_enabled=True,
        archive_enabled=True,
        interceptors=[PrinterSpec(), EventRecorderSpec(path=f"{tmp_path}/events.jsonl")],
    )
    assert (settings.cache_enabled, settings.archive_enabled, settings.interceptors) == (
        False,
        False,
        [],
    )
    assert settings.privacy_turned_off == (
        "cache_enabled (exact and semantic caches)",
        "archive_enabled",
        "interceptors (printer, event_recorder)",
    )


def test_privacy_mode_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERSTACK_PRIVACY_MODE", "1")
    monkeypatch.setenv("INFERSTACK_CACHE_ENABLED", "true")
    settings = Settings()
    assert settings.privacy_mode and not settings.cache_enabled


def test_without_privacy_mode_settings_stand() -> None:
    settings = Settings(cache_enabled=True, archive_enabled=True)
    assert (settings.cache_enabled, settings.archive_enabled) == (True, True)
    assert settings.privacy_turned_off == ()


@pytest.fixture
def private_client(models_file: Path, request_log: ListSink) -> Iterator[TestClient]:
    app = create_app(
        Settings(models_file=models_file, privacy_mode=True),
        ModelRegistry.from_file(models_file),
        request_log=request_log,
    )
    with TestClient(app) as test_client:
        yield test_client


CHAT = {
    "model": "tiny",
    "user": "alice@example.com",
    "messages": [{"role": "user", "content": "hi"}],
}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", CHAT),
        (
            "/v1/messages",
            {**CHAT, "max_tokens": 8, "user": None, "metadata": {"user_id": "alice@example.com"}},
        ),
    ],
)
def test_a_private_log_row_has_nothing_the_body_said(
    private_client: TestClient, request_log: ListSink, path: str, body: dict[str, object]
) -> None:
    """No session id hashed from the prompt and no end user; counts and ids remain."""
    reply = private_client.post(path, json={k: v for k, v in body.items() if v is not None})
    assert reply.status_code == 200, reply.text
    assert "x-session-id" not in reply.headers
    row = request_log.records[-1]
    assert (row.session_id, row.end_user) == (None, None)
    assert row.prompt_tokens and row.completion_tokens and row.status_code == 200


def test_a_private_log_row_keeps_the_session_the_client_named(
    private_client: TestClient, request_log: ListSink
) -> None:
    reply = private_client.post("/v1/chat/completions", json=CHAT, headers={"X-Session-ID": "s1"})
    assert reply.status_code == 200
    assert request_log.records[-1].session_id == "s1"


def test_without_privacy_mode_the_row_has_session_and_user(
    logged_client: TestClient, request_log: ListSink
) -> None:
    assert logged_client.post("/v1/chat/completions", json=CHAT).status_code == 200
    row = request_log.records[-1]
    assert row.session_id is not None and row.end_user == "alice@example.com"
