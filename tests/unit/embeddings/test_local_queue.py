"""The in-process embedder's queue: bounded (past `max_pending`, 429 model_overloaded with
Retry-After, like a model's concurrency valve), and a call whose client left is dropped
before the model spends time on it."""

from __future__ import annotations

import asyncio

import pytest

from api_server.errors import ModelOverloadedError
from tests.unit.embeddings.fakes import GatedModel, local_embedder


async def test_a_call_past_the_bound_is_refused_not_queued() -> None:
    model = GatedModel(open_gate=False)
    embedder = local_embedder(model, max_pending=2)
    try:
        running = [asyncio.ensure_future(embedder.embed([f"text {i}"])) for i in range(2)]
        await asyncio.to_thread(model.started.wait)
        with pytest.raises(ModelOverloadedError) as refused:
            await embedder.embed(["one too many"])
        assert refused.value.status_code == 429 and refused.value.retry_after_s == 1
        model.gate.set()
        batches = await asyncio.gather(*running)
        assert [batch.prompt_tokens for batch in batches] == [2, 2]
        assert embedder.pending == 0
        assert (await embedder.embed(["room again"])).prompt_tokens == 2
    finally:
        model.gate.set()
        embedder.close()


async def test_a_cancelled_call_is_never_encoded() -> None:
    model = GatedModel(open_gate=False)
    embedder = local_embedder(model, max_pending=4)
    try:
        busy = asyncio.ensure_future(embedder.embed(["first"]))
        await asyncio.to_thread(model.started.wait)  # the pool's one thread is taken
        left = asyncio.ensure_future(embedder.embed(["nobody waits for me"]))
        await asyncio.sleep(0)  # let it queue (no timing: one turn of the loop)
        assert embedder.pending == 2
        left.cancel()
        with pytest.raises(asyncio.CancelledError):
            await left
        assert embedder.pending == 1
        model.gate.set()
        await busy
        await embedder.embed(["after"])  # the pool ran everything still queued before it
        assert model.encoded == ["first", "after"]
    finally:
        model.gate.set()
        embedder.close()
