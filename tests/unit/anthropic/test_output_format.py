"""Anthropic's front door: `output_format` (structured outputs) held by the engine as
OpenAI's response_format is; `thinking` accepted, answered without thinking blocks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anthropic
import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.scripted_engine import ScriptedEngine

HELLO = [{"role": "user", "content": "A city?"}]
CITY = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 20}},
    "required": ["city"],
}


@pytest.fixture
def sdk(models_file: Path) -> Iterator[anthropic.Anthropic]:
    settings = Settings(models_file=models_file, cache_enabled=False)
    with TestClient(create_app(settings, ModelRegistry.from_file(models_file))) as client:
        yield anthropic.Anthropic(
            base_url="http://testserver", api_key="unused", http_client=client, max_retries=0
        )


def test_output_format_holds_the_engine_to_the_schema(
    sdk: anthropic.Anthropic, engine: ScriptedEngine
) -> None:
    engine.texts = ['{"city": "Paris"}']
    message = sdk.messages.create(
        model="tiny",
        max_tokens=64,
        messages=HELLO,  # type: ignore[arg-type]
        extra_body={"output_format": {"type": "json_schema", "schema": CITY}},
    )
    assert json.loads(message.content[0].text) == {"city": "Paris"}  # type: ignore[union-attr]
    assert engine.last_request["json_schema"] == CITY


@pytest.mark.parametrize(
    "output_format",
    [{"type": "json_object"}, {"type": "json_schema"}, {"type": "json_schema", "schema": []}],
)
def test_a_bad_output_format_is_a_400_in_anthropics_envelope(
    sdk: anthropic.Anthropic, engine: ScriptedEngine, output_format: dict[str, object]
) -> None:
    with pytest.raises(anthropic.BadRequestError):
        sdk.messages.create(
            model="tiny",
            max_tokens=64,
            messages=HELLO,  # type: ignore[arg-type]
            extra_body={"output_format": output_format},
        )
    assert engine.requests == []


def test_thinking_is_accepted_and_answered_without_thinking_blocks(
    sdk: anthropic.Anthropic, engine: ScriptedEngine
) -> None:
    message = sdk.messages.create(
        model="tiny",
        max_tokens=64,
        messages=HELLO,  # type: ignore[arg-type]
        thinking={"type": "enabled", "budget_tokens": 1024},
    )
    assert [block.type for block in message.content] == ["text"]
    assert "thinking" not in engine.last_request
