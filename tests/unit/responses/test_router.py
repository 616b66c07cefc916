"""The Responses API end to end over the scripted engine, driven by the official SDK
(`responses.create`, `.stream`, `create(stream=True)`, `.retrieve`, `.delete`,
`.input_items.list`), its responses kept in the in-memory store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from api_server.responses import service as responses_service
from api_server.sse import parse_sse
from tests.unit.auth.fakes import ListSink, MemoryKeyStore
from tests.unit.responses.fakes import WEATHER, MemoryResponseStore
from tests.unit.scripted_engine import Scripted, ScriptedEngine

CITY_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
HERMES_CALL = [
    "<tool_call>\n",
    '{"name": "get_weather", ',
    '"arguments": {"city": "Paris"}}',
    "\n</tool_call>",
]
ANSWER = "The capital of France is Paris."


@pytest.fixture
def store() -> MemoryResponseStore:
    return MemoryResponseStore()


@pytest.fixture
def gateway(
    models_file: Path, store: MemoryResponseStore, request_log: ListSink
) -> Iterator[TestClient]:
    app = create_app(
        Settings(models_file=models_file),
        ModelRegistry.from_file(models_file),
        request_log=request_log,
        response_store=store,
    )
    with TestClient(app) as client:
        yield client


def stored(response: Any) -> bool:
    """The Response's `store` (a field the SDK's model does not name)."""
    flag: bool = response.to_dict()["store"]
    return flag


def as_dict(item: Any) -> dict[str, Any]:
    raw: dict[str, Any] = item.to_dict()
    return raw


def text_of(item: dict[str, Any]) -> str:
    text: str = item["content"][0]["text"]
    return text


def sdk_for(client: TestClient, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(
        base_url="http://testserver/v1", api_key=key, http_client=client, max_retries=0
    )


@pytest.fixture
def sdk(gateway: TestClient) -> openai.OpenAI:
    return sdk_for(gateway)


def test_create_answers_a_response_and_stores_it(
    sdk: openai.OpenAI, store: MemoryResponseStore, request_log: ListSink, engine: ScriptedEngine
) -> None:
    response = sdk.responses.create(
        model="TINY", input="What is the capital of France?", instructions="Be brief."
    )
    assert response.output_text == ANSWER
    assert response.id.startswith("resp_") and response.object == "response"
    assert (response.status, response.model, stored(response)) == ("completed", "tiny-chatml", True)
    assert response.instructions == "Be brief."
    [message] = response.output
    assert message.type == "message" and message.id.startswith("msg_")
    assert (message.role, message.status) == ("assistant", "completed")
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (7, 3)
    assert response.usage.total_tokens == 10
    prompt = engine.last_request["prompt"]
    assert prompt.startswith("<|im_start|>system\nBe brief.<|im_end|>")
    assert prompt.endswith("What is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
    [record] = store.records.values()
    assert (record.id, record.tenant, record.depth) == (response.id, None, 1)
    assert record.as_response() == response.model_dump(exclude_unset=True)
    [row] = request_log.records
    assert (row.endpoint, row.model, row.status_code) == ("/v1/responses", "tiny-chatml", 200)
    assert (row.prompt_tokens, row.completion_tokens) == (7, 3)


def test_retrieve_is_the_response_as_answered(sdk: openai.OpenAI) -> None:
    created = sdk.responses.create(model="tiny", input="hi", metadata={"run": "7"}, user="u-1")
    retrieved = sdk.responses.retrieve(created.id)
    assert retrieved == created
    assert retrieved.metadata == {"run": "7"} and retrieved.user == "u-1"


def test_create_stream_sends_the_documented_events(
    sdk: openai.OpenAI, store: MemoryResponseStore
) -> None:
    events = list(sdk.responses.create(model="tiny", input="hi", stream=True))
    assert [event.type for event in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert deltas == ["The capital", " of France", " is Paris."]
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.output_text == ANSWER
    assert store.records[(None, completed.response.id)].as_response() == (
        completed.response.model_dump(exclude_unset=True)
    )


def test_the_stream_helper_gives_text_and_the_final_response(sdk: openai.OpenAI) -> None:
    with sdk.responses.stream(model="tiny", input="hi") as stream:
        text = "".join(
            event.delta for event in stream if event.type == "response.output_text.delta"
        )
        final = stream.get_final_response()
    assert text == ANSWER == final.output_text
    assert sdk.responses.retrieve(final.id).output_text == ANSWER


def test_previous_response_id_replays_the_conversation(
    sdk: openai.OpenAI, engine: ScriptedEngine
) -> None:
    first = sdk.responses.create(model="tiny", input="First question?", instructions="Old.")
    second = sdk.responses.create(
        model="tiny", input="Second question?", previous_response_id=first.id
    )
    assert second.previous_response_id == first.id
    prompt = engine.last_request["prompt"]
    assert "Old." not in prompt  # instructions are not carried over
    assert prompt == (
        "<|im_start|>user\nFirst question?<|im_end|>\n"
        f"<|im_start|>assistant\n{ANSWER}<|im_end|>\n"
        "<|im_start|>user\nSecond question?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    third = sdk.responses.create(model="tiny", input="Third?", previous_response_id=second.id)
    assert engine.last_request["prompt"].count("<|im_start|>user") == 3
    listed = sdk.responses.input_items.list(third.id)
    texts = [(item["type"], item["role"], text_of(item)) for item in map(as_dict, listed.data)]
    assert texts == [
        ("message", "user", "Third?"),
        ("message", "assistant", ANSWER),
        ("message", "user", "Second question?"),
        ("message", "assistant", ANSWER),
        ("message", "user", "First question?"),
    ]
    assert listed.data[1].id == second.output[0].id
    oldest_two = sdk.responses.input_items.list(third.id, order="asc", limit=2)
    assert [text_of(as_dict(item)) for item in oldest_two.data] == ["First question?", ANSWER]
    assert oldest_two.has_more is True
    paged = [item.id for item in sdk.responses.input_items.list(third.id, limit=2)]  # all pages
    assert paged == [item.id for item in listed.data]


def test_a_function_call_round_trip(sdk: openai.OpenAI, engine: ScriptedEngine) -> None:
    engine.texts = HERMES_CALL
    asked = sdk.responses.create(
        model="tiny",
        input="Weather in Paris?",
        tools=[WEATHER],  # type: ignore[list-item]
    )
    [call] = asked.output
    assert call.type == "function_call"
    assert (call.name, json.loads(call.arguments), call.status) == (
        "get_weather",
        {"city": "Paris"},
        "completed",
    )
    assert call.call_id.startswith("call_") and call.id and call.id.startswith("fc_")
    assert asked.tools[0].name == "get_weather"  # type: ignore[union-attr]
    engine.texts = ["It is 18 C and sunny."]
    answered = sdk.responses.create(
        model="tiny",
        previous_response_id=asked.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "18 C, sunny"}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert answered.output_text == "It is 18 C and sunny."
    prompt = engine.last_request["prompt"]
    assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}' in prompt
    assert "<tool_response>\n18 C, sunny\n</tool_response>" in prompt


def test_a_function_call_with_its_output_sent_as_input(
    sdk: openai.OpenAI, engine: ScriptedEngine
) -> None:
    """The conversation sent whole, without stored state (store: false)."""
    response = sdk.responses.create(
        model="tiny",
        store=False,
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "type": "function_call",
                "call_id": "call_9",
                "name": "get_weather",
                "arguments": '{"city": "Paris"}',
            },
            {"type": "function_call_output", "call_id": "call_9", "output": "18 C"},
        ],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert stored(response) is False
    assert "<tool_response>\n18 C\n</tool_response>" in engine.last_request["prompt"]


def test_a_streamed_tool_call(sdk: openai.OpenAI, engine: ScriptedEngine) -> None:
    engine.texts = HERMES_CALL
    with sdk.responses.stream(
        model="tiny",
        input="Weather?",
        tools=[WEATHER],  # type: ignore[list-item]
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    types = [event.type for event in events]
    assert types[2:] == [
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * (types.count(
            "response.function_call_arguments.delta")),
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]  # fmt: skip
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert json.loads(done.arguments) == {"city": "Paris"}
    assert final.output[0].type == "function_call"


def test_an_answer_cut_at_max_output_tokens_is_incomplete(
    sdk: openai.OpenAI, engine: ScriptedEngine
) -> None:
    engine.finish_reason = "length"
    response = sdk.responses.create(model="tiny", input="Tell a story", max_output_tokens=3)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].status == "incomplete"  # type: ignore[union-attr]
    assert engine.last_request["max_tokens"] == 3
    events = list(sdk.responses.create(model="tiny", input="Again", stream=True))
    assert events[-1].type == "response.incomplete"


def test_an_engine_failure_mid_stream_ends_with_response_failed(
    gateway: TestClient, engine: ScriptedEngine, store: MemoryResponseStore
) -> None:
    engine.script = Scripted(
        200,
        [b'data: {"choices": [{"index": 0, "text": "Hel", "finish_reason": null}]}\n\n'],
        drop_after_chunks=True,
    )
    body = {"model": "tiny", "input": "hi", "stream": True}
    response = gateway.post("/v1/responses", json=body)
    assert response.status_code == 200
    events = [json.loads(event.data) for event in parse_sse(response.content)]
    assert [event["type"] for event in events][-2:] == [
        "response.output_text.delta",
        "response.failed",
    ]
    failed = events[-1]["response"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "server_error"
    assert failed["output"][0]["status"] == "incomplete"  # what was said before it broke
    assert failed["output"][0]["content"][0]["text"] == "Hel"
    assert store.records == {}  # a failed response is not kept


def test_store_false_is_not_kept(sdk: openai.OpenAI, store: MemoryResponseStore) -> None:
    response = sdk.responses.create(model="tiny", input="hi", store=False)
    assert stored(response) is False
    assert store.records == {}
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError) as raised:
        sdk.responses.create(model="tiny", input="more", previous_response_id=response.id)
    assert raised.value.body["param"] == "previous_response_id"  # type: ignore[index]


def test_delete(sdk: openai.OpenAI, gateway: TestClient) -> None:
    first = sdk.responses.create(model="tiny", input="one")
    second = sdk.responses.create(model="tiny", input="two", previous_response_id=first.id)
    deleted = gateway.delete(f"/v1/responses/{first.id}")
    assert deleted.json() == {"id": first.id, "object": "response", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(first.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.delete(first.id)
    # The conversation that continued it cannot be continued any more.
    with pytest.raises(openai.NotFoundError) as raised:
        sdk.responses.create(model="tiny", input="three", previous_response_id=second.id)
    assert "deleted" in raised.value.message
    sdk.responses.delete(second.id)  # the SDK's own call (no body expected)
    assert gateway.get(f"/v1/responses/{second.id}").status_code == 404


@pytest.fixture
def keyed(
    models_file: Path, store: MemoryResponseStore
) -> Iterator[tuple[TestClient, MemoryKeyStore]]:
    keys = MemoryKeyStore()
    app = create_app(
        Settings(models_file=models_file, auth_mode="api_key",
                 database_url="postgresql://u:p@127.0.0.1:9/x"),
        ModelRegistry.from_file(models_file),
        request_log=ListSink(),
        key_store=keys,
        response_store=store,
    )  # fmt: skip
    with TestClient(app) as client:
        yield client, keys


def test_a_tenant_never_reads_chains_onto_or_deletes_anothers_response(
    keyed: tuple[TestClient, MemoryKeyStore], store: MemoryResponseStore
) -> None:
    client, keys = keyed
    record_a, key_a = keys.add("a")
    _, key_b = keys.add("b")
    alice, bob = sdk_for(client, key_a), sdk_for(client, key_b)
    mine = alice.responses.create(model="tiny", input="secret plans")
    assert store.records[(f"key:{record_a.id}", mine.id)].tenant == f"key:{record_a.id}"
    for attempt in (
        lambda: bob.responses.retrieve(mine.id),
        lambda: bob.responses.input_items.list(mine.id),
        lambda: bob.responses.delete(mine.id),
        lambda: bob.responses.create(model="tiny", input="?", previous_response_id=mine.id),
    ):
        with pytest.raises(openai.NotFoundError):  # 404, not 403: the id reveals nothing
            attempt()
    assert alice.responses.retrieve(mine.id).output_text == ANSWER
    alice.responses.create(model="tiny", input="more", previous_response_id=mine.id)
    with pytest.raises(openai.AuthenticationError):
        sdk_for(client, "sk-wrong").responses.retrieve(mine.id)


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"tools": [{"type": "web_search"}]}, 400, "tools[0].type"),
        ({"input": [{"type": "reasoning", "summary": []}]}, 400, "input[0].type"),
        ({"previous_response_id": "resp_unknown"}, 404, "previous_response_id"),
        ({"model": "no-such-model"}, 404, "model"),
        ({"metadata": {f"k{n}": "v" for n in range(17)}}, 400, "metadata"),
        ({"metadata": {"k": "v" * 513}}, 400, "metadata.k"),
        ({"max_output_tokens": 0}, 400, "max_output_tokens"),
        ({"text": {"format": {"type": "xml"}}}, 400, "text.format.type"),
        ({"input": []}, 200, None),  # nothing to say: the model answers an empty chat
    ],
)
def test_errors_in_openais_envelope(
    gateway: TestClient, body: dict[str, Any], status: int, param: str | None
) -> None:
    response = gateway.post("/v1/responses", json={"model": "tiny", "input": "hi", **body})
    assert response.status_code == status, response.text
    if status != 200:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["message"]
        assert error["param"] == param


def test_a_web_search_tool_is_refused_by_name(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.responses.create(model="tiny", input="news?", tools=[{"type": "web_search"}])
    assert "'web_search'" in raised.value.message


def test_retrieving_as_a_stream_is_refused(sdk: openai.OpenAI, gateway: TestClient) -> None:
    created = sdk.responses.create(model="tiny", input="hi")
    response = gateway.get(f"/v1/responses/{created.id}?stream=true")
    assert response.status_code == 400 and response.json()["error"]["param"] == "stream"


def test_the_database_down_is_a_503_and_fails_a_begun_stream(
    sdk: openai.OpenAI, gateway: TestClient, store: MemoryResponseStore
) -> None:
    created = sdk.responses.create(model="tiny", input="hi")
    store.down = True
    with pytest.raises(openai.InternalServerError) as raised:
        sdk.responses.create(model="tiny", input="hi")
    assert raised.value.status_code == 503
    with pytest.raises(openai.InternalServerError):
        sdk.responses.retrieve(created.id)
    with pytest.raises(openai.InternalServerError):
        sdk.responses.create(model="tiny", input="more", previous_response_id=created.id)
    events = list(sdk.responses.create(model="tiny", input="hi", stream=True))
    # Stored before the end is rendered: a response that could not be kept never says
    # it completed (a client may chain onto a completed one at once).
    assert [event.type for event in events][-2:] == [
        "response.output_text.delta",
        "response.failed",
    ]
    assert events[-1].type == "response.failed"
    assert [item.status for item in events[-1].response.output] == ["incomplete"]
    assert events[-1].response.error is not None
    assert "unavailable" in events[-1].response.error.message
    assert sdk.responses.create(model="tiny", input="hi", store=False).output_text == ANSWER


def test_chains_are_bounded(
    sdk: openai.OpenAI, monkeypatch: pytest.MonkeyPatch, engine: ScriptedEngine
) -> None:
    monkeypatch.setattr(responses_service, "MAX_CHAIN_DEPTH", 3)
    previous = None
    for turn in range(3):
        previous = sdk.responses.create(
            model="tiny",
            input=f"turn {turn}",
            previous_response_id=previous.id if previous else None,
        )
    assert previous is not None
    sent = len(engine.requests)
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.responses.create(model="tiny", input="turn 3", previous_response_id=previous.id)
    assert raised.value.body["param"] == "previous_response_id"  # type: ignore[index]
    assert len(engine.requests) == sent  # refused before anything ran
    monkeypatch.setattr(responses_service, "MAX_HISTORY_BYTES", 1000)
    first = sdk.responses.create(model="tiny", input="x" * 400)
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.responses.create(model="tiny", input="y" * 400, previous_response_id=first.id)
    assert "bytes" in raised.value.message


@pytest.fixture
def no_database(models_file: Path) -> Iterator[TestClient]:
    app = create_app(Settings(models_file=models_file), ModelRegistry.from_file(models_file))
    with TestClient(app) as client:
        yield client


def test_without_a_database_responses_work_but_are_not_kept(no_database: TestClient) -> None:
    sdk = sdk_for(no_database)
    response = sdk.responses.create(model="tiny", input="hi")
    assert response.output_text == ANSWER
    assert stored(response) is False  # what happened, whatever was asked
    with pytest.raises(openai.NotFoundError) as raised:
        sdk.responses.retrieve(response.id)
    assert "no database" in raised.value.message
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.responses.create(model="tiny", input="more", previous_response_id=response.id)
    assert refused.value.body["param"] == "previous_response_id"  # type: ignore[index]
    assert "database" in refused.value.message


def test_a_json_schema_format_is_the_engines_constraint(
    sdk: openai.OpenAI, engine: ScriptedEngine
) -> None:
    engine.texts = ['{"city": ', '"Paris"}']
    schema = CITY_SCHEMA
    response = sdk.responses.create(
        model="tiny",  # llama.cpp
        input="Capital of France, as JSON",
        text={"format": {"type": "json_schema", "name": "city", "schema": schema}},
    )
    assert json.loads(response.output_text) == {"city": "Paris"}
    assert engine.last_request["json_schema"] == schema
    sdk.responses.create(model="tiny", input="JSON", text={"format": {"type": "json_object"}})
    assert engine.last_request["json_schema"] == {"type": "object"}
