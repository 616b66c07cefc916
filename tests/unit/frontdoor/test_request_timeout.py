"""`request_timeout_s` through the gateway: a JSON answer past it is a 504 in the client's
own envelope; a stream past it ends with the front door's error event. The scripted engine
stalls (it never finishes within the test), so which side of the deadline a request ends on
is never a race."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.scripted_engine import Scripted, ScriptedEngine, sse_completion_stream

HELLO = [{"role": "user", "content": "hi"}]
SSE = {"content-type": "text/event-stream"}
STALL_S = 30.0  # far past every deadline below: the engine never finishes in time


def gateway(models_file: Path, request_timeout_s: float | None) -> TestClient:
    settings = Settings(models_file=models_file, request_timeout_s=request_timeout_s)
    return TestClient(create_app(settings, ModelRegistry.from_file(models_file)))


@pytest.fixture
def hung_engine(engine: ScriptedEngine) -> ScriptedEngine:
    """Answers nothing until long after the deadline (0.2 s, well inside the model's own
    timeout_s of 1 s between two pieces of output, so the request's deadline comes first)."""
    engine.script = Scripted(200, [], SSE, delay_s=STALL_S)
    return engine


@pytest.fixture
def short(models_file: Path, hung_engine: ScriptedEngine) -> Iterator[TestClient]:
    with gateway(models_file, 0.2) as client:
        yield client


def test_a_json_answer_past_the_timeout_is_an_openai_504(short: TestClient) -> None:
    response = short.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO})
    assert response.status_code == 504, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("timeout_error", "request_timeout")
    assert "request timeout (0.2 s)" in error["message"]


def test_a_json_answer_past_the_timeout_is_an_anthropic_504(short: TestClient) -> None:
    body = {"model": "tiny", "max_tokens": 16, "messages": HELLO}
    response = short.post("/v1/messages", json=body)
    assert response.status_code == 504, response.text
    assert response.json() == {
        "type": "error",
        "error": {
            "type": "timeout_error",
            "message": "The request took longer than the gateway's request timeout (0.2 s)",
        },
    }


def test_a_stream_that_never_started_is_a_504(short: TestClient) -> None:
    body = {"model": "tiny", "messages": HELLO, "stream": True}
    response = short.post("/v1/chat/completions", json=body)
    assert response.status_code == 504, response.text
    assert response.json()["error"]["code"] == "request_timeout"


@pytest.fixture
def stalling_midway(models_file: Path, engine: ScriptedEngine) -> Iterator[TestClient]:
    """The engine sends its first piece at once, then nothing (llama-on-cpu waits 120 s for
    the next piece, so only the request's deadline can end it). The deadline leaves ample
    time for the first piece: the answer has started by then."""
    first = sse_completion_stream(["Hel"])[0]
    engine.script = Scripted(200, [first], SSE, stall_after_chunks_s=STALL_S)
    with gateway(models_file, 2.0) as client:
        yield client


def test_an_openai_stream_past_the_timeout_ends_with_its_error_event(
    stalling_midway: TestClient,
) -> None:
    body = {"model": "llama-on-cpu", "messages": HELLO, "stream": True}
    with stalling_midway.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert json.loads(events[0])["choices"][0]["delta"]["role"] == "assistant"
    assert events[-1] == "[DONE]"
    error = json.loads(events[-2])["error"]
    assert (error["type"], error["code"]) == ("timeout_error", "request_timeout")


def test_an_anthropic_stream_past_the_timeout_ends_with_its_error_event(
    stalling_midway: TestClient,
) -> None:
    body = {"model": "llama-on-cpu", "max_tokens": 16, "messages": HELLO, "stream": True}
    with stalling_midway.stream("POST", "/v1/messages", json=body) as response:
        assert response.status_code == 200
        lines = list(response.iter_lines())
    assert lines[0] == "event: message_start"
    assert lines[-3:-1] == [
        "event: error",
        'data: {"type":"error","error":{"type":"timeout_error","message":"The request took '
        "longer than the gateway's request timeout (2 s)\"}}",
    ]


def test_no_timeout_when_it_is_off(models_file: Path, engine: ScriptedEngine) -> None:
    engine.script = Scripted(200, sse_completion_stream(["Hi"]), SSE, delay_s=0.3)
    with gateway(models_file, None) as client:
        body = {"model": "tiny", "messages": HELLO}
        response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text


def _with_model_timeout(models_file: Path, timeout: float | None) -> Path:
    """The models file with `tiny` setting its own request_timeout_s."""
    registry = yaml.safe_load(models_file.read_text())
    for model in registry["models"]:
        if "tiny" in model.get("aliases", ()):
            model["request_timeout_s"] = timeout
    path = models_file.with_name("models-own-timeout.yaml")
    path.write_text(yaml.safe_dump(registry))
    return path


@pytest.mark.parametrize("own", [5.0, None])
def test_a_models_own_longer_timeout_or_none_wins_over_the_settings(
    models_file: Path, engine: ScriptedEngine, own: float | None
) -> None:
    engine.script = Scripted(200, sse_completion_stream(["Hi"]), SSE, delay_s=0.5)
    with gateway(_with_model_timeout(models_file, own), 0.2) as client:
        response = client.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO})
        assert response.status_code == 200, response.text
        # Another model of the same gateway still has the settings' 0.2 s.
        body = {"model": "llama-on-cpu", "messages": HELLO}
        assert client.post("/v1/chat/completions", json=body).status_code == 504


def test_a_models_own_shorter_timeout_wins_over_the_settings(
    models_file: Path, hung_engine: ScriptedEngine
) -> None:
    with gateway(_with_model_timeout(models_file, 0.2), 60.0) as client:
        response = client.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO})
    assert response.status_code == 504, response.text
    assert "request timeout (0.2 s)" in response.json()["error"]["message"]
