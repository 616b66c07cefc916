"""Integration fixtures: the native stack (real PostgreSQL, Redis, llama-server with SmolLM2
and the gateway), plus the fake engine for behaviours a 135M model cannot show on demand
(tool-call syntaxes, failures). Clients are the official SDKs."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from stackctl.api import NativeStack
from tests.integration.services import (
    REPO,
    free_port,
    llama_server_binary,
    running,
    smollm2_hf_model,
    smollm2_model,
)

# Registry entries served by the fake engine; the engine picks behaviour by served_name.
FAKE_MODELS = {
    "fake-echo": ("chatml", "hermes", "llamacpp", "fake"),
    "fake-hermes": ("chatml", "hermes", "llamacpp", "fake-tool-hermes"),
    "fake-llama3": ("llama3", "llama3-json", "vllm", "fake-tool-llama3"),
    "fake-devstral-2505": ("mistral-v7", "mistral", "vllm", "fake-tool-mistral-v7"),
    "fake-devstral-2507": ("mistral-v13", "mistral", "vllm", "fake-tool-mistral-v13"),
    "fake-slow": ("chatml", "none", "llamacpp", "fake-slow-100"),
    "fake-429": ("chatml", "none", "max", "fake-429"),
    "fake-500": ("chatml", "none", "vllm", "fake-error-500"),
    "fake-midstream-error": ("chatml", "none", "vllm", "fake-midstream-error"),
    "fake-hang": ("chatml", "none", "llamacpp", "fake-hang"),
}


# The shipped registry's SmolLM2 entries, one per real engine of the stack.
REAL_ENGINE_MODELS = (
    "SmolLM2-135M-Instruct",
    "SmolLM2-135M-Instruct-vllm",
    "SmolLM2-135M-Instruct-max",
)


def _registry(fake_url: str, dead_url: str) -> dict[str, object]:
    """The shipped registry's SmolLM2 entries (engine URLs and `enabled` still `${...}`,
    which the stack's gateway expands to the stack's engines) plus models served by the
    fake engine."""
    shipped = yaml.safe_load((REPO / "configs" / "models.yaml").read_text())
    models: list[dict[str, object]] = [
        m for m in shipped["models"] if m["name"] in REAL_ENGINE_MODELS
    ]
    for name, (family, syntax, kind, served) in FAKE_MODELS.items():
        bos = {"llama3": "<|begin_of_text|>"}.get(family, "<s>" if "mistral" in family else "")
        models.append(
            {
                "name": name,
                "prompt_family": family,
                "tool_call_syntax": syntax,
                "bos_token": bos,
                "engine": {"kind": kind, "served_name": served, "urls": [fake_url]},
                "context_length": 8192,
                "max_tokens": {"default": 64, "limit": 256},
                "timeout_s": 2 if name == "fake-hang" else 30,
            }
        )
    models.append(
        {
            "name": "engine-down",
            "prompt_family": "chatml",
            "engine": {"kind": "llamacpp", "served_name": "x", "urls": [dead_url]},
            "context_length": 2048,
            "max_tokens": {"default": 16, "limit": 64},
        }
    )
    return {"default_model": "SmolLM2-135M-Instruct", "models": models}


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("service-logs")


@pytest.fixture(scope="session")
def fake_engine_url(logs_dir: Path) -> Iterator[str]:
    port = free_port()
    argv = [sys.executable, "-m", "api_server.fakes.engine", "--host", "127.0.0.1",
            "--port", str(port)]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with running(argv, f"{url}/health", logs_dir / "fake-engine.log", timeout_s=30):
        yield url


@pytest.fixture(scope="session")
def native_stack(
    fake_engine_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NativeStack]:
    """The whole native stack (PostgreSQL, Redis, llama-server, vLLM and MAX Serve each
    serving SmolLM2, gateway) in its own state folder on free ports, started once per
    session, as `make start ENGINE="vllm max"` runs it."""
    llama_server_binary()  # build or find the cached llama-server before timing starts
    smollm2_model()
    smollm2_hf_model()
    models_file = tmp_path_factory.mktemp("gateway") / "models.yaml"
    dead_url = f"http://127.0.0.1:{free_port()}"
    models_file.write_text(yaml.safe_dump(_registry(fake_engine_url, dead_url)))
    environ = {
        **os.environ,
        "INFERSTACK_MODELS_FILE": str(models_file),
        # tests/integration/test_logs_api.py reads logs and archived payloads back; the
        # session stack runs with auth off, so anonymous reading is opted in.
        "INFERSTACK_LOGS_API_ENABLED": "true",
        "INFERSTACK_LOGS_API_ALLOW_ANONYMOUS": "true",
        "INFERSTACK_ARCHIVE_ENABLED": "true",
    }
    with NativeStack(
        tmp_path_factory.mktemp("stack"),
        free_ports=True,
        environ=environ,
        profiles=["vllm", "max"],
    ) as stack:
        yield stack


@pytest.fixture(scope="session")
def gateway_url(native_stack: NativeStack) -> str:
    return native_stack.url("gateway").replace("localhost", "127.0.0.1")


@pytest.fixture
def client(gateway_url: str) -> Iterator[openai.OpenAI]:
    # Closed, not left to the garbage collector: an unclosed pooled socket found at exit
    # is a ResourceWarning, which fails the session.
    with openai.OpenAI(base_url=f"{gateway_url}/v1", api_key="unused", max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def http(gateway_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway_url, timeout=60) as client:
        yield client


@pytest.fixture
def fake_engine(fake_engine_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_engine_url, timeout=10) as client:
        client.post("/_reset")
        yield client


@pytest.fixture(scope="module")
def upstream_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The fake hosted OpenAI-style upstream (api_server/fakes/upstream.py), one per module."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("fake-upstream") / "fake-upstream.log"
    argv = [sys.executable, "-m", "api_server.fakes.upstream", "--port", str(port)]
    with running(argv, f"{url}/v1/models", log, timeout_s=30):
        yield url
