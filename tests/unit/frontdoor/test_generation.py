"""The choice every front door's chat makes (`frontdoor.generation`): a local engine's raw
text parsed for tool calls under the model's tool-call rules, reported to the observer."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from api_server.chat.conversation import ChatMessage, Conversation, ToolSpec
from api_server.chat.events import ChatEvent, Finished, TextDelta, ToolCallStart, Usage
from api_server.chat.sampling import SamplingParams
from api_server.engines.client import EngineReplica
from api_server.errors import EngineError
from api_server.frontdoor.generation import generate_chat
from api_server.generation.request import ChatRequest
from api_server.registry import ModelRegistry
from api_server.state import build_runtime
from tests.unit.scripted_engine import ScriptedEngine

CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "%s"}}\n</tool_call>'
WEATHER = ToolSpec(name="get_weather", parameters={"type": "object"})


class Observer:
    affinity = None

    def __init__(self) -> None:
        self.seen: list[str] = []

    def engine_chosen(self, replica: EngineReplica) -> None:
        self.seen.append(f"chosen {replica.kind}")

    def first_token(self) -> None:
        self.seen.append("first token")

    def engine_failed(self, replica: EngineReplica, error: EngineError) -> None:
        self.seen.append(f"failed {type(error).__name__}")

    def engine_failed_over(self, replica: EngineReplica, kind: str) -> None:
        self.seen.append(f"failed over ({kind})")

    def upstream_retried(self, replica: EngineReplica, reason: str) -> None:
        self.seen.append(f"retried {reason}")

    def completed(self, usage: Usage) -> None:
        self.seen.append(f"completed {usage.completion_tokens}")


async def _chat(models_file: Path, conversation: Conversation) -> tuple[list[ChatEvent], Observer]:
    spec = ModelRegistry.from_file(models_file).resolve("tiny-chatml")
    spec = spec.model_copy(update={"tool_call_syntax": "hermes"})
    observer = Observer()
    async with aiohttp.ClientSession() as http:
        request = ChatRequest(
            model=build_runtime(spec, http),
            conversation=conversation,
            sampling=SamplingParams(max_tokens=64),
            request_id="r",
        )
        events = [event async for event in generate_chat(request, observer)]
    return events, observer


async def test_a_local_model_streams_its_engine_text(
    models_file: Path, engine: ScriptedEngine
) -> None:
    conversation = Conversation(messages=(ChatMessage(role="user", content="hi"),))
    events, observer = await _chat(models_file, conversation)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == (
        "The capital of France is Paris."
    )
    assert isinstance(events[-1], Finished) and events[-1].reason == "stop"
    assert observer.seen[:2] == ["chosen llamacpp", "first token"]
    assert observer.seen[-1].startswith("completed")


async def test_the_client_turning_parallel_calls_off_keeps_the_first_call(
    models_file: Path, engine: ScriptedEngine
) -> None:
    engine.texts = [CALL % "Paris", CALL % "Rome"]
    conversation = Conversation(
        messages=(ChatMessage(role="user", content="weather?"),),
        tools=(WEATHER,),
        parallel_tool_calls=False,
    )
    events, _ = await _chat(models_file, conversation)
    assert [e.name for e in events if isinstance(e, ToolCallStart)] == ["get_weather"]
    assert isinstance(events[-1], Finished) and events[-1].reason == "tool_calls"
