"""The top-level `retry` setting: the policy of every hosted upstream that names none of its
own, in the registry and in proxy mode; an entry's own `retry` and local engines keep theirs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import HttpUrl

from api_server.app import create_app
from api_server.config import Settings
from api_server.proxy_mode import UpstreamSettings, upstream_registry
from api_server.registry import ModelRegistry, RetrySpec

FIVE_TRIES = RetrySpec(max_attempts=5, base_delay_s=0.1)


def _entry(name: str, kind: str, **engine: object) -> dict[str, object]:
    url = "https://up.example/v1" if kind == "openai" else "http://127.0.0.1:1"
    return {
        "name": name,
        "prompt_family": "chatml",
        "engine": {"kind": kind, "served_name": name, "urls": [url], **engine},
        "context_length": 8192,
        "max_tokens": {"default": 16, "limit": 64},
    }


@pytest.fixture
def models_file(tmp_path: Path) -> Path:
    models = [
        _entry("local", "llamacpp"),
        _entry("plain", "openai"),
        _entry("own", "openai", retry={"max_attempts": 2}),
    ]
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump({"models": models}))
    return path


def _retry_of(registry: ModelRegistry, name: str) -> RetrySpec:
    return registry.resolve(name).engine.retry


def test_a_hosted_model_without_its_own_retry_takes_the_default(models_file: Path) -> None:
    registry = ModelRegistry.from_file(models_file, default_retry=FIVE_TRIES)
    assert _retry_of(registry, "plain") == FIVE_TRIES
    assert _retry_of(registry, "own").max_attempts == 2
    assert _retry_of(registry, "local") == RetrySpec()


def test_without_a_default_each_model_keeps_the_built_in_policy(models_file: Path) -> None:
    registry = ModelRegistry.from_file(models_file)
    assert _retry_of(registry, "plain") == RetrySpec()


def test_the_proxy_upstream_takes_the_default_unless_it_names_its_own() -> None:
    bare = UpstreamSettings(base_url=HttpUrl("https://up.example/v1"), type="openai")
    own = UpstreamSettings(
        base_url=HttpUrl("https://up.example/v1"), type="openai", retry=RetrySpec(max_attempts=2)
    )
    assert _retry_of(upstream_registry(bare, FIVE_TRIES), "any-model") == FIVE_TRIES
    assert _retry_of(upstream_registry(own, FIVE_TRIES), "any-model").max_attempts == 2
    assert _retry_of(upstream_registry(bare), "any-model") == RetrySpec()


def test_the_web_backend_spelling_sets_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERSTACK_CONFIG_FILE", str(tmp_path / "none.yaml"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INFERSTACK_RETRY__MAX_ATTEMPTS", "5")
    settings = Settings()
    assert settings.retry == RetrySpec(max_attempts=5)


def test_the_gateway_serves_the_registry_with_the_default(models_file: Path) -> None:
    app = create_app(Settings(models_file=models_file, retry=FIVE_TRIES))
    with TestClient(app):
        assert _retry_of(app.state.inferstack.registry, "plain") == FIVE_TRIES
