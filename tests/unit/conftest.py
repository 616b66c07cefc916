from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.fake_transport import ScriptedEngine

TEST_MODELS = """
default_model: tiny-chatml
models:
  - name: tiny-chatml
    aliases: [tiny]
    prompt_family: chatml
    tool_call_syntax: hermes
    engine: {kind: llamacpp, served_name: tiny, urls: ["http://engine-a:8080"]}
    context_length: 2048
    max_tokens: {default: 16, limit: 64}
  - name: Llama-3.1-8B-Instruct
    prompt_family: llama3
    bos_token: "<|begin_of_text|>"
    tool_call_syntax: llama3-json
    engine: {kind: vllm, served_name: meta-llama/Llama-3.1-8B-Instruct, urls: ["http://vllm:8000"]}
    context_length: 8192
    max_tokens: {default: 16, limit: 64}
  - name: Devstral-Small-2507
    prompt_family: mistral-v13
    bos_token: "<s>"
    tool_call_syntax: mistral
    engine: {kind: vllm, served_name: devstral, urls: ["http://vllm:8000"]}
    context_length: 8192
    max_tokens: {default: 16, limit: 64}
"""


@pytest.fixture
def models_file(tmp_path: Path) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(TEST_MODELS)
    return path


@pytest.fixture
def engine() -> ScriptedEngine:
    return ScriptedEngine()


@pytest.fixture
def client(models_file: Path, engine: ScriptedEngine) -> Iterator[TestClient]:
    settings = Settings(models_file=models_file, max_body_bytes=64 * 1024)
    app = create_app(settings, ModelRegistry.from_file(models_file), engine.transport)
    with TestClient(app) as test_client:
        yield test_client
