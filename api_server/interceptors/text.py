"""What a request asked and what a response said, in plain text, for every wire format the
gateway speaks: OpenAI chat/completions (JSON and SSE), Anthropic messages (JSON and SSE)
and the AI SDK's UI message stream. Pure functions; shared by the printer, the message
logger and `inferstack replay`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from api_server.sse import parse_sse

DONE = "[DONE]"


@dataclass(frozen=True)
class RequestSummary:
    model: str | None = None
    stream: bool = False
    last_user_text: str | None = None


def is_event_stream(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == "text/event-stream"


def is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def parse_json(body: bytes) -> Any:
    """The parsed body, or None when it is not JSON."""
    try:
        return json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        return None


def sse_data(body: bytes) -> list[str]:
    """Each event's data (multi-line data joined with newlines), in order; a partial last
    event (a cut stream) counts too."""
    return [event.data.decode("utf-8", errors="replace") for event in parse_sse(body)]


def sse_payloads(body: bytes) -> list[Any]:
    """Each event's data parsed as JSON (kept as text when it is not), without `[DONE]`."""
    payloads: list[Any] = []
    for data in sse_data(body):
        if data.strip() == DONE:
            continue
        parsed = parse_json(data.encode())
        payloads.append(data if parsed is None else parsed)
    return payloads


def payload_text(payload: Any) -> str:
    """The text one JSON body or one SSE event carries, in any of the formats above."""
    if not isinstance(payload, dict):
        return ""
    kind = payload.get("type")
    if kind == "text-delta":  # AI SDK v5 `delta`; v4 used `textDelta`
        return _str(payload.get("delta", payload.get("textDelta")))
    if kind == "content_block_delta":
        delta = payload.get("delta")
        return _str(delta.get("text")) if isinstance(delta, dict) else ""
    if "choices" not in payload:  # an Anthropic message
        return _parts_text(payload.get("content"))
    return "".join(_choice_text(choice) for choice in _dicts(payload.get("choices")))


def response_text(content_type: str | None, body: bytes) -> str:
    """The assembled text of a whole response body, JSON or SSE; "" for anything else."""
    if is_event_stream(content_type):
        return "".join(payload_text(payload) for payload in sse_payloads(body))
    return payload_text(parse_json(body))


def response_tool_names(content_type: str | None, body: bytes) -> list[str]:
    """The tools a response calls, in order, in any of the formats above."""
    payloads = sse_payloads(body) if is_event_stream(content_type) else [parse_json(body)]
    return [name for payload in payloads for name in _tool_names(payload)]


def _tool_names(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return []
    if payload.get("type") == "tool-input-start":  # AI SDK
        return [_str(payload.get("toolName"))]
    block = payload.get("content_block")  # Anthropic stream
    if isinstance(block, dict) and block.get("type") == "tool_use":
        return [_str(block.get("name"))]
    blocks = payload.get("content")  # an Anthropic message
    if "choices" not in payload and isinstance(blocks, list):
        return [_str(b.get("name")) for b in _dicts(blocks) if b.get("type") == "tool_use"]
    names: list[str] = []
    for choice in _dicts(payload.get("choices")):  # OpenAI: chunk deltas or a message
        part = choice.get("delta") or choice.get("message") or {}
        calls = part.get("tool_calls") if isinstance(part, dict) else None
        for call in _dicts(calls):
            function = call.get("function")
            if isinstance(function, dict) and function.get("name"):
                names.append(_str(function["name"]))
    return names


def summarize_request(body: bytes) -> RequestSummary:
    payload = parse_json(body)
    if not isinstance(payload, dict):
        return RequestSummary()
    model = payload.get("model")
    return RequestSummary(
        model=model if isinstance(model, str) else None,
        stream=payload.get("stream") is True,
        last_user_text=_last_user_text(payload),
    )


def shorten(text: str, limit: int = 80) -> str:
    """One line of at most `limit` characters: whitespace collapsed, an ellipsis if cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _last_user_text(payload: dict[str, Any]) -> str | None:
    users = [m for m in _dicts(payload.get("messages")) if m.get("role") == "user"]
    if users:  # OpenAI and Anthropic `content`, AI SDK UI messages `parts`
        last = users[-1]
        return _parts_text(last.get("content", last.get("parts")))
    prompt = payload.get("prompt", payload.get("input"))
    if isinstance(prompt, list):
        prompt = prompt[-1] if prompt else None
    return prompt if isinstance(prompt, str) else None


def _choice_text(choice: dict[str, Any]) -> str:
    for key in ("delta", "message"):  # a chat chunk, a chat completion
        part = choice.get(key)
        if isinstance(part, dict):
            return _parts_text(part.get("content"))
    return _str(choice.get("text"))  # a legacy completion


def _parts_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        _str(part.get("text")) for part in _dicts(content) if part.get("type", "text") == "text"
    )


def _dicts(value: Any) -> Iterable[dict[str, Any]]:
    return (item for item in value if isinstance(item, dict)) if isinstance(value, list) else ()


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
