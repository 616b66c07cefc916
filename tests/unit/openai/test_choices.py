"""`n` choices: one generation each, indexed, usage counted as OpenAI counts it (the prompt
once), streamed choices interleaved by index with one end; never from the caches."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.auth.fakes import ListSink
from tests.unit.openai.test_router import WEATHER_TOOL
from tests.unit.scripted_engine import ScriptedEngine
from tests.unit.upstreams.sdk import openai_client

HELLO = [{"role": "user", "content": "hi"}]
ANSWER = "The capital of France is Paris."


def _gateway(models_file: Path, sink: ListSink) -> TestClient:
    settings = Settings(models_file=models_file)  # the exact cache is on: n must bypass it
    return TestClient(create_app(settings, ModelRegistry.from_file(models_file), request_log=sink))


def test_each_choice_is_a_generation_of_its_own(models_file: Path, engine: ScriptedEngine) -> None:
    sink = ListSink()
    with _gateway(models_file, sink) as client:
        reply = openai_client(client).chat.completions.create(
            model="tiny", messages=HELLO, n=3, seed=5, temperature=0.8
        )  # type: ignore[call-overload]
    assert [choice.index for choice in reply.choices] == [0, 1, 2]
    assert {choice.message.content for choice in reply.choices} == {ANSWER}
    assert {choice.finish_reason for choice in reply.choices} == {"stop"}
    assert sorted(request["seed"] for request in engine.requests) == [5, 6, 7]
    # The prompt once, every choice's completion: the scripted engine reports (7, 3) each.
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (7, 9)
    (row,) = sink.records
    assert (row.prompt_tokens, row.completion_tokens, row.status_code) == (7, 9, 200)


def test_choices_never_come_from_the_cache(models_file: Path, engine: ScriptedEngine) -> None:
    with _gateway(models_file, ListSink()) as client:
        body = {"model": "tiny", "messages": HELLO, "n": 2, "temperature": 0}
        for _ in range(2):  # deterministic, so cacheable, were it one choice
            assert client.post("/v1/chat/completions", json=body).status_code == 200
    assert len(engine.requests) == 4


def test_streamed_choices_interleave_by_index_and_end_once(
    models_file: Path, engine: ScriptedEngine
) -> None:
    with _gateway(models_file, ListSink()) as client:
        body = {
            "model": "tiny",
            "messages": HELLO,
            "n": 2,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    events = [line[6:] for line in response.text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]" and events.count("[DONE]") == 1
    chunks = [json.loads(event) for event in events[:-1]]
    texts = {0: "", 1: ""}
    finishes = {}
    for chunk in chunks[:-1]:
        (choice,) = chunk["choices"]
        texts[choice["index"]] += choice["delta"].get("content") or ""
        if choice["finish_reason"]:
            finishes[choice["index"]] = choice["finish_reason"]
    assert texts == {0: ANSWER, 1: ANSWER}
    assert finishes == {0: "stop", 1: "stop"}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 6


def test_the_sdks_stream_helper_assembles_every_choice(
    models_file: Path, engine: ScriptedEngine
) -> None:
    with _gateway(models_file, ListSink()) as client:
        sdk = openai_client(client)
        with sdk.chat.completions.stream(model="tiny", messages=HELLO, n=3) as stream:  # type: ignore[arg-type]
            final = stream.get_final_completion()
    assert [choice.message.content for choice in final.choices] == [ANSWER] * 3


def test_tool_calls_in_each_choice_get_ids_of_their_own(
    models_file: Path, engine: ScriptedEngine
) -> None:
    engine.texts = [
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
    ]
    with _gateway(models_file, ListSink()) as client:
        reply = openai_client(client).chat.completions.create(
            model="tiny", messages=HELLO, tools=[WEATHER_TOOL], n=2
        )  # type: ignore[call-overload]
    calls = [choice.message.tool_calls[0] for choice in reply.choices]  # type: ignore[index]
    assert [call.function.name for call in calls] == ["get_weather", "get_weather"]
    assert calls[0].id != calls[1].id
    assert {choice.finish_reason for choice in reply.choices} == {"tool_calls"}


def test_a_failing_choice_fails_the_request_in_the_clients_envelope(
    models_file: Path, engine: ScriptedEngine
) -> None:
    sink = ListSink()
    with _gateway(models_file, sink) as client:
        body = {"model": "engine-down", "messages": HELLO, "n": 2}
        response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["type"]
    (row,) = sink.records
    assert row.status_code == 503


def test_legacy_completions_choices(models_file: Path, engine: ScriptedEngine) -> None:
    with _gateway(models_file, ListSink()) as client:
        sdk = openai_client(client)
        reply = sdk.completions.create(model="tiny", prompt="The", n=2, seed=1)
        streamed = list(sdk.completions.create(model="tiny", prompt="The", n=2, stream=True))
    assert [choice.index for choice in reply.choices] == [0, 1]
    assert {choice.text for choice in reply.choices} == {ANSWER}
    assert reply.usage is not None and reply.usage.completion_tokens == 6
    assert sorted(r["seed"] for r in engine.requests[:2]) == [1, 2]
    texts = {0: "", 1: ""}
    for chunk in streamed:
        for choice in chunk.choices:
            texts[choice.index] += choice.text
    assert texts == {0: ANSWER, 1: ANSWER}


def test_completions_echo_prompt_lists_and_best_of(
    models_file: Path, engine: ScriptedEngine
) -> None:
    with _gateway(models_file, ListSink()) as client:
        sdk = openai_client(client)
        echoed = sdk.completions.create(model="tiny", prompt="Q: ", echo=True)
        batch = sdk.completions.create(model="tiny", prompt=["one", "two"], n=2)
        streamed = list(sdk.completions.create(model="tiny", prompt="Q: ", echo=True, stream=True))
        engine.requests.clear()
        best = sdk.completions.create(model="tiny", prompt=["one", "two"], best_of=3, n=1)
    assert echoed.choices[0].text == "Q: " + ANSWER
    assert "".join(c.choices[0].text for c in streamed) == "Q: " + ANSWER
    assert [c.index for c in batch.choices] == [0, 1, 2, 3]
    assert batch.usage is not None and batch.usage.prompt_tokens == 14  # 7 per prompt
    # best_of: 3 candidates per prompt, ranked by their logprobs (asked for, not shown).
    assert len(engine.requests) == 6
    assert all(request["logprobs"] == 1 for request in engine.requests)
    assert [c.index for c in best.choices] == [0, 1]
    assert all(c.logprobs is None and c.text == ANSWER for c in best.choices)
    assert best.usage is not None and best.usage.completion_tokens == 18  # every candidate
