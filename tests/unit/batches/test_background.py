"""The runner the lifespan starts: what it sees of interactive load, and which batches it
takes (those whose model this gateway serves)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from api_server.app import create_app
from api_server.batches.background import engine_in_flight, gateway_batch_runner, serves
from api_server.config import Settings
from api_server.engines.client import EngineReplica
from api_server.errors import EngineError
from api_server.registry import ModelRegistry
from api_server.state import AppState


class _Observer:
    def engine_chosen(self, replica: EngineReplica) -> None: ...
    def engine_failed(self, replica: EngineReplica, error: EngineError) -> None: ...


@pytest.fixture
async def state(models_file: Path) -> AsyncIterator[AppState]:
    app = create_app(Settings(models_file=models_file), ModelRegistry.from_file(models_file))
    async with app.router.lifespan_context(app):
        yield app.state.inferstack


async def test_interactive_load_is_the_models_engine_requests_here(state: AppState) -> None:
    assert engine_in_flight(state, "tiny") == 0
    with state.runtime_for("tiny").pool.lease(_Observer()):
        assert engine_in_flight(state, "tiny") == 1
        assert engine_in_flight(state, "TINY-chatml") == 1  # any spelling of the model
        assert engine_in_flight(state, "Llama-3.1-8B-Instruct") == 0
    assert engine_in_flight(state, "no-such-model") == 0


async def test_a_runner_takes_only_the_batches_of_models_it_serves(state: AppState) -> None:
    assert serves(state, "/v1/chat/completions", "tiny")
    assert serves(state, "/v1/completions", "tiny-chatml")
    assert not serves(state, "/v1/chat/completions", "another-gateways-model")
    assert serves(state, "/v1/embeddings", "sentence-transformers/all-MiniLM-L6-v2")
    assert not serves(state, "/v1/embeddings", "tiny")


async def test_no_runner_without_the_storage_batches_need(state: AppState) -> None:
    assert state.batch_storage is None
    assert gateway_batch_runner(state) is None
