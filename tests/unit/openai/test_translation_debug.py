"""The translation debug mode (`debug_translation`): an admin's `X-Inferstack-Debug:
translation` gets the exact prompt sent to the engine and the engine's raw text back; anyone
else, or the setting off, gets the plain answer. OpenAI chat front door only."""

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
from stackctl.api import free_port
from tests.unit.auth.fakes import ListSink, MemoryKeyStore
from tests.unit.openai.test_router import WEATHER_TOOL
from tests.unit.scripted_engine import ScriptedEngine

ADMIN = "an-admin-key-long-enough"
DEBUG = {"X-Inferstack-Debug": "translation"}
QUESTION = "Weather in Paris?"
RAW_CALL = [
    "<tool_call>\n",
    '{"name": "get_weather", ',
    '"arguments": {"city": "Paris"}}\n',
    "</tool_call>",
]


def _gateway(
    models_file: Path, *, debug_translation: bool, keys: MemoryKeyStore | None = None
) -> TestClient:
    database = f"postgresql://u:p@127.0.0.1:{free_port()}/x"  # admin_key needs one; unused
    settings = Settings(
        models_file=models_file,
        admin_key=ADMIN,
        database_url=database,
        debug_translation=debug_translation,
        auth_mode="none" if keys is None else "api_key",
    )
    registry = ModelRegistry.from_file(models_file)
    return TestClient(create_app(settings, registry, key_store=keys, request_log=ListSink()))


@pytest.fixture
def debug_on(models_file: Path) -> Iterator[TestClient]:
    with _gateway(models_file, debug_translation=True) as client:
        yield client


def _sdk(client: TestClient, key: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url="http://testserver/v1", api_key=key, http_client=client, max_retries=0
    )


def _ask(client: TestClient, key: str) -> dict[str, Any]:
    reply = _sdk(client, key).chat.completions.create(
        model="tiny-chatml",
        messages=[{"role": "user", "content": QUESTION}],
        tools=[WEATHER_TOOL],
        extra_headers=DEBUG,
    )
    body: dict[str, Any] = reply.model_dump()
    return body


def test_admin_gets_the_exact_prompt_and_the_raw_text(
    debug_on: TestClient, engine: ScriptedEngine
) -> None:
    engine.texts = RAW_CALL
    body = _ask(debug_on, ADMIN)
    debug = body["inferstack_debug"]
    assert debug["prompt"] == engine.last_request["prompt"]
    assert "<|im_start|>user\n" in debug["prompt"] and QUESTION in debug["prompt"]
    assert debug["prompt"].endswith("<|im_start|>assistant\n")
    # Raw, before tool-call parsing: the client's message holds the parsed call instead.
    assert debug["raw_completion"] == "".join(RAW_CALL)
    assert body["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_weather"


def test_other_callers_header_is_ignored(debug_on: TestClient, engine: ScriptedEngine) -> None:
    engine.texts = RAW_CALL
    assert "inferstack_debug" not in _ask(debug_on, "not-the-admin-key")
    assert "inferstack_debug" not in _ask(debug_on, ADMIN[:-1])


def test_with_auth_on_the_admin_key_is_a_caller_and_gets_the_debug_view(
    models_file: Path, engine: ScriptedEngine
) -> None:
    keys = MemoryKeyStore()
    _, key = keys.add("tenant")
    engine.texts = RAW_CALL
    with _gateway(models_file, debug_translation=True, keys=keys) as client:
        assert _ask(client, ADMIN)["inferstack_debug"]["prompt"] == engine.last_request["prompt"]
        # A tenant's own key works and its debug header is ignored; a wrong key is a 401.
        assert "inferstack_debug" not in _ask(client, key)
        with pytest.raises(openai.AuthenticationError):
            _ask(client, ADMIN[:-1])


def test_setting_off_ignores_the_admins_header(models_file: Path, engine: ScriptedEngine) -> None:
    with _gateway(models_file, debug_translation=False) as client:
        assert "inferstack_debug" not in _ask(client, ADMIN)


def _stream_events(client: TestClient, headers: dict[str, str]) -> list[str]:
    response = client.post(
        "/v1/chat/completions",
        headers={"authorization": f"Bearer {ADMIN}", **headers},
        json={
            "model": "tiny-chatml",
            "messages": [{"role": "user", "content": QUESTION}],
            "stream": True,
        },
    )
    assert response.status_code == 200, response.text
    return [line.removeprefix("data: ") for line in response.text.split("\n\n") if line]


def test_stream_sends_the_debug_event_just_before_done(
    debug_on: TestClient, engine: ScriptedEngine
) -> None:
    events = _stream_events(debug_on, DEBUG)
    assert events[-1] == "[DONE]"
    debug = json.loads(events[-2])
    assert debug["object"] == "inferstack.debug"
    assert debug["id"] == json.loads(events[0])["id"]
    assert debug["prompt"] == engine.last_request["prompt"]
    assert "<|im_start|>" in debug["prompt"] and QUESTION in debug["prompt"]
    assert debug["raw_completion"] == "The capital of France is Paris."
    chunks = [json.loads(e) for e in events[:-2]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}


def test_stream_without_the_header_has_no_debug_event(debug_on: TestClient) -> None:
    events = _stream_events(debug_on, {})
    assert events[-1] == "[DONE]"
    assert all("inferstack.debug" not in e for e in events)


def test_sdk_stream_reads_through_the_debug_event(
    debug_on: TestClient, engine: ScriptedEngine
) -> None:
    stream = _sdk(debug_on, ADMIN).chat.completions.create(
        model="tiny-chatml",
        messages=[{"role": "user", "content": QUESTION}],
        stream=True,
        extra_headers=DEBUG,
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "The capital of France is Paris."
