"""An engine faked at the transport: `httpx.MockTransport` answering `/v1/completions`
with scripted SSE streams, and recording what the gateway sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


def sse_completion_stream(
    texts: list[str], finish_reason: str = "stop", usage: tuple[int, int] | None = (7, 3)
) -> bytes:
    lines = []
    for text in texts:
        chunk = {"choices": [{"index": 0, "text": text, "finish_reason": None}]}
        lines.append(f"data: {json.dumps(chunk)}\n\n")
    last: dict[str, Any] = {"choices": [{"index": 0, "text": "", "finish_reason": finish_reason}]}
    if usage is not None:
        last["usage"] = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        }
    lines.append(f"data: {json.dumps(last)}\n\n")
    lines.append("data: [DONE]\n\n")
    return "".join(lines).encode()


@dataclass
class ScriptedEngine:
    """Answers every completion with `texts`; `respond` overrides the whole response."""

    texts: list[str] = field(default_factory=lambda: ["The capital", " of France", " is Paris."])
    finish_reason: str = "stop"
    respond: Callable[[httpx.Request], httpx.Response] | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    adds_bos: bool = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200, json={"status": "ok"})
        if request.url.path == "/tokenize":
            return httpx.Response(200, json={"tokens": [1] if self.adds_bos else []})
        body = json.loads(request.content)
        self.requests.append(body)
        if self.respond is not None:
            return self.respond(request)
        return httpx.Response(
            200,
            content=sse_completion_stream(self.texts, self.finish_reason),
            headers={"content-type": "text/event-stream"},
        )

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    @property
    def last_request(self) -> dict[str, Any]:
        return self.requests[-1]


async def aiter_bytes(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part
