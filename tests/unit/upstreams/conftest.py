from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.fakes.upstream import create_fake_upstream_app
from api_server.registry import ModelRegistry
from tests.unit.auth.fakes import ListSink


class ServedApp:
    """An ASGI app under uvicorn on a free localhost port, in a thread."""

    def __init__(self, app: Any) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServedApp:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the served app did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)


@pytest.fixture(scope="session")
def fake_upstream_url() -> Iterator[str]:
    with ServedApp(create_fake_upstream_app()) as served:
        yield served.url


@pytest.fixture
def upstream(fake_upstream_url: str) -> Iterator[httpx.Client]:
    """The fake provider's test hooks (`/_requests`), reset for each test."""
    with httpx.Client(base_url=fake_upstream_url) as hooks:
        hooks.post("/_reset")
        yield hooks


FAST_RETRY = "{max_attempts: 3, base_delay_s: 0.0, max_delay_s: 0.0, retry_after_cap_s: 5}"


def upstream_models(url: str) -> str:
    def model(name: str, kind: str, served: str, extra: str = "") -> str:
        base = f"{url}/v1" if kind == "openai" else url
        return f"""
  - name: {name}
    engine:
      kind: {kind}
      served_name: {served}
      urls: ["{base}"]
      retry: {FAST_RETRY}
      {extra}
    context_length: 8192
    max_tokens: {{default: 64, limit: 256}}
    timeout_s: 5
"""

    return "models:" + "".join(
        [
            model(
                "gpt-up", "openai", "echo-model", "auth: {style: env, api_key_env: FAKE_OPENAI_KEY}"
            ),
            model("claude-up", "anthropic", "claude-echo", "auth: {style: header}"),
            model("gpt-tool", "openai", "tool-model"),
            model("claude-tool", "anthropic", "claude-tool"),
            model("gpt-flaky", "openai", "flaky-503"),
            model("gpt-flaky-429", "openai", "flaky-429"),
            model("gpt-always-429", "openai", "always-429"),
            model("gpt-bad", "openai", "bad-request"),
            model(
                "claude-needs-key",
                "anthropic",
                "needs-key",
                "auth: {style: both, api_key_env: FAKE_ANTHROPIC_KEY}",
            ),
            model("gpt-down", "openai", "x").replace(f"{url}/v1", "http://127.0.0.1:9/v1"),
        ]
    )


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


@pytest.fixture
def gateway(
    tmp_path: Path, fake_upstream_url: str, sink: ListSink, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-ours")
    monkeypatch.delenv("FAKE_ANTHROPIC_KEY", raising=False)
    path = tmp_path / "models.yaml"
    path.write_text(upstream_models(fake_upstream_url))
    settings = Settings(models_file=path, redis_url=None, database_url=None, cache_enabled=False)
    app = create_app(settings, ModelRegistry.from_file(path), request_log=sink)
    with TestClient(app) as client:
        yield client
