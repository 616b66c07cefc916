"""The choice every front door's chat makes (`frontdoor.generation`): a local engine's raw
text parsed for tool calls under the model's tool-call rules, reported to the observer."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from api_server.chat.conversation import ChatMessage, Conversation, ToolSpec
from api_server.chat.events import ChatEvent, Finished, TextDelta, ToolCallStart
from api_server.chat.sampling import SamplingParams
from api_server.frontdoor.generation import generate_chat
from api_server.generation.request import ChatRequest
from api_server.registry import ModelRegistry
from api_server.state import build_runtime
from tests.unit.recording_observer import RecordingObserver
from tests.unit.scripted_engine import ScriptedEngine

CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "%s"}}\n</tool_call>'
WEATHER = ToolSpec(name="get_weather", parameters={"type": "object"})


async def _chat(
    models_file: Path, conversation: Conversation
) -> tuple[list[ChatEvent], RecordingObserver]:
    spec = ModelRegistry.from_file(models_file).resolve("tiny-chatml")
    spec = spec.model_copy(update={"tool_call_syntax": "hermes"})
    observer = RecordingObserver()
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
    assert observer.seen[:2] == ["chosen llamacpp#0", "first token"]
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
