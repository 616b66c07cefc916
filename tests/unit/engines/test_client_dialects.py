"""What the engine client does for each real engine's quirks, against the scripted engine:
MAX's stop strings cut out of its text, BOS learnt once before the first BOS prompt,
metrics read where MAX keeps them, llama.cpp's slots learnt, a 429 remembered."""

from __future__ import annotations

import aiohttp
import pytest

from api_server.chat.sampling import SamplingParams
from api_server.engines.client import EngineReplica
from api_server.engines.types import CompletionChunk, CompletionRequest
from api_server.errors import EngineOverloadedError
from api_server.prompts.base import FormattedPrompt
from api_server.registry import EngineKind
from tests.unit.scripted_engine import Scripted, ScriptedEngine

CHATML = FormattedPrompt(
    text="<|im_start|>user\nCount<|im_end|>\n<|im_start|>assistant\n",
    starts_with_bos=False,
    stop=("<|im_end|>",),
)
LLAMA3 = FormattedPrompt(
    text="<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
    starts_with_bos=True,
    stop=("<|eot_id|>",),
)


def _request(prompt: FormattedPrompt, stop: tuple[str, ...] = ()) -> CompletionRequest:
    return CompletionRequest(
        prompt=prompt,
        sampling=SamplingParams(max_tokens=16, stop=stop),
        request_id="r",
        bos_token="<|begin_of_text|>" if prompt.starts_with_bos else "",
    )


async def _stream(
    engine: ScriptedEngine, kind: EngineKind, request: CompletionRequest
) -> tuple[EngineReplica, list[CompletionChunk]]:
    async with aiohttp.ClientSession() as http:
        replica = EngineReplica(http, kind, "m", engine.url)
        chunks = [c async for c in replica.stream_completion(request, timeout_s=5)]
        return replica, chunks


async def test_max_stop_string_is_cut_from_the_text_and_named(engine: ScriptedEngine) -> None:
    engine.texts = ["1,", " 2,", " 3,", " 4,", " 5"]  # MAX 26.7 keeps the stop in its text
    _, chunks = await _stream(engine, "max", _request(CHATML, stop=("5",)))
    assert "".join(c.text for c in chunks) == "1, 2, 3, 4, "
    assert chunks[-1].finish_reason == "stop" and chunks[-1].stop_reason == "5"
    assert chunks[-1].usage is not None  # the engine's own count still comes through
    assert engine.last_request["stop"] == ["<|im_end|>", "5"]  # the engine still stops there


async def test_max_text_without_a_stop_passes_whole(engine: ScriptedEngine) -> None:
    engine.texts = ["no stop", " here 4"]
    _, chunks = await _stream(engine, "max", _request(CHATML, stop=("45",)))
    assert "".join(c.text for c in chunks) == "no stop here 4"
    assert chunks[-1].stop_reason is None


async def test_vllm_text_is_left_as_the_engine_sent_it(engine: ScriptedEngine) -> None:
    engine.texts = ["a 5 b"]  # vLLM never returns its stop string: nothing to cut
    _, chunks = await _stream(engine, "vllm", _request(CHATML, stop=("5",)))
    assert "".join(c.text for c in chunks) == "a 5 b"


@pytest.mark.parametrize("adds_bos", [True, False])
async def test_max_bos_is_learnt_once_then_left_to_the_engine(
    engine: ScriptedEngine, adds_bos: bool
) -> None:
    engine.adds_bos = adds_bos
    async with aiohttp.ClientSession() as http:
        replica = EngineReplica(http, "max", "m", engine.url)
        for _ in range(2):
            _ = [c async for c in replica.stream_completion(_request(LLAMA3), timeout_s=5)]
    assert engine.probe_requests == [
        {"model": "m", "prompt": "<|begin_of_text|>", "max_tokens": 1, "temperature": 0}
    ]
    assert replica.adds_bos is adds_bos
    sent = [r["prompt"] for r in engine.requests]
    assert all(p.startswith("<|begin_of_text|>") is not adds_bos for p in sent)


async def test_llamacpp_bos_is_learnt_before_the_first_bos_prompt(engine: ScriptedEngine) -> None:
    """Not only after a readiness probe: the first request already has one BOS."""
    engine.adds_bos = True
    replica, _ = await _stream(engine, "llamacpp", _request(LLAMA3))
    assert engine.tokenize_requests == [{"content": "", "add_special": True}]
    assert not engine.last_request["prompt"].startswith("<|begin_of_text|>")
    assert replica.adds_bos is True


async def test_prompts_without_bos_never_probe(engine: ScriptedEngine) -> None:
    await _stream(engine, "max", _request(CHATML))
    await _stream(engine, "llamacpp", _request(CHATML))
    assert engine.probe_requests == engine.tokenize_requests == []


async def test_a_replica_that_went_down_learns_bos_again(engine: ScriptedEngine) -> None:
    engine.adds_bos = True
    async with aiohttp.ClientSession() as http:
        replica = EngineReplica(http, "max", "m", engine.url)
        _ = [c async for c in replica.stream_completion(_request(LLAMA3), timeout_s=5)]
        engine.healthy = False
        assert await replica.probe(2) is False
        assert replica.adds_bos is None


async def test_queue_depth_is_read_from_the_replicas_metrics_url(engine: ScriptedEngine) -> None:
    engine.queued = 3
    async with aiohttp.ClientSession() as http:
        replica = EngineReplica(http, "max", "m", engine.url, f"{engine.url}/worker/metrics")
        assert await replica.probe(timeout_s=5)
    assert replica.queue_depth == 3
    assert engine.metrics_paths == ["/worker/metrics"]


async def test_metrics_default_to_the_replicas_own_url(engine: ScriptedEngine) -> None:
    async with aiohttp.ClientSession() as http:
        replica = EngineReplica(http, "vllm", "m", engine.url + "/")
        await replica.probe(timeout_s=5)
    assert replica.metrics_url == f"{engine.url}/metrics"
    assert engine.metrics_paths == ["/metrics"]


async def test_llama_cpp_slots_are_learnt_once_and_forgotten_when_it_goes_down(
    engine: ScriptedEngine,
) -> None:
    engine.total_slots = 4
    async with aiohttp.ClientSession() as http:
        replica = EngineReplica(http, "llamacpp", "m", engine.url)
        assert replica.slots is None
        assert await replica.probe(timeout_s=5)
        assert replica.slots == 4
        engine.total_slots = 2  # not asked again while it stays up
        assert await replica.probe(timeout_s=5)
        assert replica.slots == 4
        engine.healthy = False
        assert not await replica.probe(timeout_s=5)
        assert replica.slots is None  # it may come back with another -np
        engine.healthy = True
        assert await replica.probe(timeout_s=5)
        assert replica.slots == 2


@pytest.mark.parametrize("kind", ["vllm", "max"])
async def test_other_engines_have_no_slots_to_learn(
    engine: ScriptedEngine, kind: EngineKind
) -> None:
    engine.total_slots = 4
    async with aiohttp.ClientSession() as http:
        replica = EngineReplica(http, kind, "m", engine.url)
        assert await replica.probe(timeout_s=5)
    assert replica.slots is None


async def test_a_llama_cpp_without_props_has_unknown_slots(engine: ScriptedEngine) -> None:
    async with aiohttp.ClientSession() as http:
        replica = EngineReplica(http, "llamacpp", "m", engine.url)
        assert await replica.probe(timeout_s=5)
    assert replica.slots is None


async def test_a_429_marks_the_replica_overloaded(engine: ScriptedEngine) -> None:
    engine.script = Scripted(429, [b'{"error": {"message": "queue full"}}'], {"Retry-After": "2"})
    async with aiohttp.ClientSession() as http:
        replica = EngineReplica(http, "max", "m", engine.url)
        assert replica.overloaded_until == 0.0
        with pytest.raises(EngineOverloadedError):
            _ = [c async for c in replica.stream_completion(_request(CHATML), timeout_s=5)]
    assert replica.overloaded_until > 0.0
