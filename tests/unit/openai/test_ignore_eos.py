"""`ignore_eos` (vLLM's extension, for benchmarks that choose their output lengths): sent to
the engine on chat and text completions, without the template's end-of-turn stops, and a
cache key of its own."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.frontdoor.test_caching import cached_client
from tests.unit.scripted_engine import ScriptedEngine
from tests.unit.upstreams.sdk import openai_client

HELLO = [{"role": "user", "content": "hi"}]


def _gateway(models_file: Path) -> TestClient:
    return TestClient(
        create_app(Settings(models_file=models_file), ModelRegistry.from_file(models_file))
    )


def test_chat_and_text_completions_pass_it_to_the_engine(
    models_file: Path, engine: ScriptedEngine
) -> None:
    with _gateway(models_file) as client:
        sdk = openai_client(client)
        sdk.chat.completions.create(
            model="tiny", messages=HELLO, max_tokens=16, extra_body={"ignore_eos": True}
        )  # type: ignore[call-overload]
        sdk.completions.create(
            model="tiny", prompt="The", max_tokens=16, extra_body={"ignore_eos": True}
        )
        sdk.chat.completions.create(model="tiny", messages=HELLO, max_tokens=16)
    asked, text, plain = engine.requests
    assert asked["ignore_eos"] is True and "stop" not in asked  # the template's stops dropped
    assert text["ignore_eos"] is True
    assert "ignore_eos" not in plain and plain["stop"]


def test_it_keys_the_cache(models_file: Path, engine: ScriptedEngine) -> None:
    with _gateway(models_file) as plain_client:
        client = cached_client(plain_client)
        body = {"model": "tiny", "messages": HELLO, "temperature": 0, "max_tokens": 16}
        outcomes = []
        for extra in ({}, {"ignore_eos": True}, {"ignore_eos": True}):
            response = client.post("/v1/chat/completions", json={**body, **extra})
            assert response.status_code == 200
            outcomes.append(response.headers["x-cache"])
    assert outcomes == ["MISS", "MISS", "HIT"]
    assert [r.get("ignore_eos", False) for r in engine.requests] == [False, True]


def test_a_malformed_value_is_a_400(models_file: Path, engine: ScriptedEngine) -> None:
    with _gateway(models_file) as client:
        body = {"model": "tiny", "messages": HELLO, "ignore_eos": "sometimes"}
        response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "ignore_eos"
    assert not engine.requests
