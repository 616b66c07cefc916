"""A local generation that loses its replica goes on on another: sent again before any
text, continued from the text already streamed after some. Two scripted engines on real
sockets, the gateway's own client and pool."""

from __future__ import annotations

from collections.abc import Iterator

import aiohttp
import pytest

from api_server.chat.events import ChatEvent, Finished, TextDelta
from api_server.chat.sampling import SamplingParams
from api_server.engines.types import CompletionRequest
from api_server.errors import EngineResponseError
from api_server.generation.local import generate_text
from api_server.prompts.base import FormattedPrompt
from api_server.registry import ModelSpec
from api_server.state import build_runtime
from api_server.tools import build_tool_parser
from tests.unit.recording_observer import RecordingObserver
from tests.unit.scripted_engine import (
    Scripted,
    ScriptedEngine,
    running_engine,
    sse_completion_stream,
)

PROMPT = "<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def second_engine() -> Iterator[ScriptedEngine]:
    with running_engine() as engine:
        yield engine


@pytest.fixture
def other(second_engine: ScriptedEngine) -> ScriptedEngine:
    second_engine.reset()
    return second_engine


def _spec(*urls: str) -> ModelSpec:
    return ModelSpec.model_validate(
        {
            "name": "m",
            "prompt_family": "chatml",
            "engine": {"kind": "vllm", "served_name": "m", "urls": list(urls)},
            "context_length": 2048,
            "max_tokens": {"default": 16, "limit": 64},
            "timeout_s": 5,
        }
    )


async def _generate(
    spec: ModelSpec, json_schema: dict[str, object] | None = None
) -> tuple[list[ChatEvent], RecordingObserver]:
    observer = RecordingObserver()
    request = CompletionRequest(
        prompt=FormattedPrompt(PROMPT, starts_with_bos=False),
        sampling=SamplingParams(max_tokens=20, temperature=0),
        request_id="r",
        json_schema=json_schema,
    )
    async with aiohttp.ClientSession() as http:
        runtime = build_runtime(spec, http)
        stream = generate_text(runtime, request, build_tool_parser("none"), observer)
        events = [event async for event in stream]
    return events, observer


def _text(events: list[ChatEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def _dies_after(texts: list[str]) -> Scripted:
    """An engine that streams `texts` and dies before finishing."""
    chunks = sse_completion_stream(texts)[:-1]
    return Scripted(200, chunks, {"content-type": "text/event-stream"}, drop_after_chunks=True)


async def test_a_stream_cut_midway_is_continued_on_another_replica(
    engine: ScriptedEngine, other: ScriptedEngine
) -> None:
    engine.script = _dies_after(["The capital", " of France"])
    other.texts = [" is Paris."]
    events, observer = await _generate(_spec(engine.url, other.url))
    assert _text(events) == "The capital of France is Paris."
    assert isinstance(events[-1], Finished) and events[-1].reason == "stop"
    continued = other.last_request
    assert continued["prompt"] == PROMPT + "The capital of France"
    assert continued["max_tokens"] == 18  # 20 less the two tokens already sent
    assert observer.seen == [
        "chosen vllm#0",
        "first token",
        "failed EngineResponseError",
        "failed over (continuation)",
        "chosen vllm#1",
        # The second engine counted 7 prompt tokens, two of them the first one's answer.
        "completed 5+5",
    ]


async def test_a_replica_that_refuses_is_left_for_another_before_any_text(
    other: ScriptedEngine,
) -> None:
    events, observer = await _generate(_spec("http://127.0.0.1:9", other.url))
    assert _text(events) == "The capital of France is Paris."
    assert other.last_request["prompt"] == PROMPT and other.last_request["max_tokens"] == 20
    assert observer.seen[:4] == [
        "chosen vllm#0",
        "failed EngineUnavailableError",
        "failed over (retry)",
        "chosen vllm#1",
    ]


async def test_each_replica_is_tried_once_then_the_error_ends_the_answer(
    engine: ScriptedEngine, other: ScriptedEngine
) -> None:
    engine.script = _dies_after(["The capital"])
    other.script = _dies_after([" of"])
    with pytest.raises(EngineResponseError):
        await _generate(_spec(engine.url, other.url))
    assert len(engine.requests) == 1 and len(other.requests) == 1


async def test_a_schema_held_answer_is_not_continued(
    engine: ScriptedEngine, other: ScriptedEngine
) -> None:
    engine.script = _dies_after(['{"a"'])
    with pytest.raises(EngineResponseError):
        await _generate(_spec(engine.url, other.url), json_schema={"type": "object"})
    assert other.requests == []
