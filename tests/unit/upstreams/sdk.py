"""The official SDKs pointed at a test gateway, and the fake provider's record of what
reached it: shared by the hosted-upstream tests."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import openai
from fastapi.testclient import TestClient

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ANTHROPIC_WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": WEATHER_TOOL["function"]["parameters"],  # type: ignore[index]
}


def openai_client(gateway: TestClient, key: str = "sk-client") -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.base_url}/v1", api_key=key, http_client=gateway, max_retries=0
    )


def anthropic_client(gateway: TestClient, key: str = "sk-client") -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=str(gateway.base_url), api_key=key, http_client=gateway, max_retries=0
    )


def received(upstream: httpx.Client) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = upstream.get("/_requests").json()
    return requests
