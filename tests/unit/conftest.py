from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.auth.fakes import ListSink
from tests.unit.scripted_engine import ScriptedEngine, running_engine


def _test_models(engine_url: str, dead_url: str) -> str:
    return f"""
default_model: tiny-chatml
models:
  - name: tiny-chatml
    aliases: [tiny]
    prompt_family: chatml
    tool_call_syntax: hermes
    engine: {{kind: llamacpp, served_name: tiny, urls: ["{engine_url}"]}}
    context_length: 2048
    max_tokens: {{default: 16, limit: 64}}
    timeout_s: 1
  - name: Llama-3.1-8B-Instruct
    prompt_family: llama3
    bos_token: "<|begin_of_text|>"
    tool_call_syntax: llama3-json
    engine: {{kind: vllm, served_name: meta-llama/Llama-3.1-8B-Instruct, urls: ["{engine_url}"]}}
    context_length: 8192
    max_tokens: {{default: 16, limit: 64}}
  - name: Devstral-Small-2507
    prompt_family: mistral-v13
    bos_token: "<s>"
    tool_call_syntax: mistral
    engine: {{kind: vllm, served_name: devstral, urls: ["{engine_url}"]}}
    context_length: 8192
    max_tokens: {{default: 16, limit: 64}}
  - name: llama-on-cpu
    prompt_family: llama3
    bos_token: "<|begin_of_text|>"
    engine: {{kind: llamacpp, served_name: llama, urls: ["{engine_url}"]}}
    context_length: 8192
    max_tokens: {{default: 16, limit: 64}}
  - name: engine-down
    prompt_family: chatml
    engine: {{kind: llamacpp, served_name: x, urls: ["{dead_url}"]}}
    context_length: 2048
    max_tokens: {{default: 16, limit: 64}}
"""


@pytest.fixture(autouse=True)
def _request_log_spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test's gateway with an unreachable database spools its request-log rows: here,
    not in the repo's .state/spool, which a real gateway would replay into its database."""
    monkeypatch.setenv("INFERSTACK_REQUEST_LOG_SPOOL_DIR", str(tmp_path / "request-log-spool"))


@pytest.fixture(scope="session")
def scripted_engine() -> Iterator[ScriptedEngine]:
    with running_engine() as engine:
        yield engine


@pytest.fixture
def engine(scripted_engine: ScriptedEngine) -> ScriptedEngine:
    scripted_engine.reset()
    return scripted_engine


@pytest.fixture
def models_file(tmp_path: Path, engine: ScriptedEngine) -> Path:
    path = tmp_path / "models.yaml"
    # Port 9 (discard) is closed on loopback: connections are refused at once.
    path.write_text(_test_models(engine.url, "http://127.0.0.1:9"))
    return path


@pytest.fixture
def client(models_file: Path) -> Iterator[TestClient]:
    settings = Settings(models_file=models_file, max_body_bytes=64 * 1024)
    app = create_app(settings, ModelRegistry.from_file(models_file))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def request_log() -> ListSink:
    return ListSink()


@pytest.fixture
def logged_client(models_file: Path, request_log: ListSink) -> Iterator[TestClient]:
    """The gateway at defaults, its request-log records kept in `request_log`."""
    app = create_app(
        Settings(models_file=models_file),
        ModelRegistry.from_file(models_file),
        request_log=request_log,
    )
    with TestClient(app) as test_client:
        yield test_client
