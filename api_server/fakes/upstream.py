"""A fake hosted upstream speaking both OpenAI's chat API and Anthropic's Messages API, for
tests and demos of pass-through models and `inferstack run` (no network, no keys).

Run it: ``python -m api_server.fakes.upstream --port 9200``; then OpenAI clients use
``http://127.0.0.1:9200/v1`` and Anthropic clients ``http://127.0.0.1:9200``. In-process:
``create_fake_upstream_app()``.

Routes: ``POST /v1/chat/completions`` and ``POST /v1/messages`` (JSON or SSE, each in its
own API's exact shapes, usage included), ``POST /v1/messages/count_tokens``,
``GET /v1/models`` (``fake-upstream``, and ``Fake-Echo-Model``: an id in mixed case, which
a proxy spells names as). Test hooks: ``GET /_requests`` lists every request received
(path, lower-cased headers, JSON body); ``POST /_reset`` clears it and the failure counters.

Behaviour by model name (substring, first row wins):

=================== ==========================================================================
model contains      behaviour
=================== ==========================================================================
``needs-key``       401 unless the credential (Bearer or x-api-key) is ``sk-fake-upstream``
``flaky-503``       503 for the first two attempts at each distinct body, then the reply
``flaky-429``       429 with ``Retry-After: 0`` for the first two attempts, then the reply
``always-429``      429 with ``Retry-After: 120`` (beyond any sensible retry cap)
``bad-request``     400 in the API's own error envelope (never worth a retry)
``tool``            a call of the first tool offered, arguments filled from its schema
``slow``            the reply, 50 ms per word
anything else       "Echo: " and the last user message's text, one SSE event per word
=================== ==========================================================================
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

FAKE_UPSTREAM_KEY = "sk-fake-upstream"
FAKE_MODEL_IDS = ("fake-upstream", "Fake-Echo-Model")
_FLAKY_FAILURES = 2
_SLOW_WORD_S = 0.05


@dataclass
class FakeUpstreamState:
    requests: list[dict[str, Any]] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)  # body digest -> attempts seen


@dataclass(frozen=True, slots=True)
class Reply:
    words: tuple[str, ...] = ()
    tool_name: str | None = None
    tool_arguments: dict[str, Any] = field(default_factory=dict)
    prompt_tokens: int = 0

    @property
    def completion_tokens(self) -> int:
        return len(self.words) + (len(self.tool_arguments) + 1 if self.tool_name else 0)


def last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                texts = [b.get("text", "") for b in content if isinstance(b, dict)]
                return " ".join(t for t in texts if t)
    return ""


def arguments_for(schema: dict[str, Any]) -> dict[str, Any]:
    """Plausible arguments: a value of the right type for every required property."""
    samples = {"string": "Paris", "integer": 1, "number": 1.5, "boolean": True}
    properties = schema.get("properties") or {}
    return {
        name: samples.get(properties.get(name, {}).get("type", "string"), "Paris")
        for name in schema.get("required") or list(properties)[:1]
    }


def plan_reply(
    model: str, messages: list[Any], tools: list[dict[str, Any]], anthropic: bool
) -> Reply:
    prompt_tokens = sum(len(str(m).split()) for m in messages)
    if "tool" in model and tools:
        tool = tools[0]
        name = tool.get("name") if anthropic else tool.get("function", {}).get("name")
        schema = (
            tool.get("input_schema") if anthropic else tool.get("function", {}).get("parameters")
        )
        return Reply(
            tool_name=name, tool_arguments=arguments_for(schema or {}), prompt_tokens=prompt_tokens
        )
    text = f"Echo: {last_user_text(messages)}".strip()
    words = tuple(word if i == 0 else f" {word}" for i, word in enumerate(text.split()))
    return Reply(words=words, prompt_tokens=prompt_tokens)


def credential(request: Request) -> str | None:
    if key := request.headers.get("x-api-key"):
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" else None


class FakeUpstream:
    def __init__(self) -> None:
        self.state = FakeUpstreamState()

    async def _received(self, request: Request) -> dict[str, Any]:
        body = orjson.loads(await request.body() or b"{}")
        self.state.requests.append(
            {"path": request.url.path, "headers": dict(request.headers), "body": body}
        )
        return body if isinstance(body, dict) else {}

    def _failure(self, request: Request, body: dict[str, Any], anthropic: bool) -> Response | None:
        model = str(body.get("model", ""))
        if "needs-key" in model and credential(request) != FAKE_UPSTREAM_KEY:
            return _error(401, "invalid x-api-key", "authentication_error", anthropic)
        if "bad-request" in model:
            return _error(
                400, "the fake upstream refuses this model", "invalid_request_error", anthropic
            )
        if "always-429" in model:
            return _error(
                429, "rate limited", "rate_limit_error", anthropic, {"Retry-After": "120"}
            )
        for marker, status, headers in (
            ("flaky-503", 503, {}),
            ("flaky-429", 429, {"Retry-After": "0"}),
        ):
            if marker in model:
                digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
                seen = self.state.attempts[digest] = self.state.attempts.get(digest, 0) + 1
                if seen <= _FLAKY_FAILURES:
                    return _error(
                        status, f"attempt {seen} fails", "overloaded_error", anthropic, headers
                    )
        return None

    async def chat_completions(self, request: Request) -> Response:
        body = await self._received(request)
        if (failure := self._failure(request, body, anthropic=False)) is not None:
            return failure
        model = str(body.get("model", ""))
        reply = plan_reply(model, body.get("messages") or [], body.get("tools") or [], False)
        if body.get("stream"):
            usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return _sse(_openai_events(model, reply, usage, "slow" in model))
        message: dict[str, Any] = {"role": "assistant", "content": "".join(reply.words) or None}
        if reply.tool_name:
            message["tool_calls"] = [_openai_call(reply)]
        return _json(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 1700000000,
                "model": model,
                "choices": [
                    {"index": 0, "message": message, "finish_reason": _openai_finish(reply)}
                ],
                "usage": _openai_usage(reply),
            }
        )

    async def messages(self, request: Request) -> Response:
        body = await self._received(request)
        if (failure := self._failure(request, body, anthropic=True)) is not None:
            return failure
        model = str(body.get("model", ""))
        reply = plan_reply(model, body.get("messages") or [], body.get("tools") or [], True)
        if body.get("stream"):
            return _sse(_anthropic_events(model, reply, "slow" in model))
        return _json(_anthropic_message(model, reply, _anthropic_content(reply)))

    async def count_tokens(self, request: Request) -> Response:
        body = await self._received(request)
        return _json({"input_tokens": sum(len(str(m).split()) for m in body.get("messages") or [])})

    async def models(self, request: Request) -> Response:
        await self._received(request)
        data = [{"id": model_id, "object": "model"} for model_id in FAKE_MODEL_IDS]
        return _json({"object": "list", "data": data})

    async def requests(self, request: Request) -> Response:
        return _json(self.state.requests)

    async def reset(self, request: Request) -> Response:
        self.state = FakeUpstreamState()
        return _json({"reset": True})


def _openai_call(reply: Reply) -> dict[str, Any]:
    return {
        "id": "call_fake1",
        "type": "function",
        "function": {
            "name": reply.tool_name,
            "arguments": orjson.dumps(reply.tool_arguments).decode(),
        },
    }


def _openai_finish(reply: Reply) -> str:
    return "tool_calls" if reply.tool_name else "stop"


def _openai_usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }


async def _openai_events(model: str, reply: Reply, usage: bool, slow: bool) -> AsyncIterator[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        payload = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return b"data: " + orjson.dumps(payload) + b"\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for word in reply.words:
        if slow:
            await asyncio.sleep(_SLOW_WORD_S)
        yield chunk({"content": word})
    if reply.tool_name:
        call = _openai_call(reply)
        arguments = call["function"]["arguments"]
        call["function"]["arguments"] = ""
        yield chunk({"tool_calls": [{"index": 0, **call}]})
        half = len(arguments) // 2  # in two fragments, split mid-token on purpose
        for fragment in (arguments[:half], arguments[half:]):
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
    yield chunk({}, _openai_finish(reply))
    if usage:
        payload = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": model,
            "choices": [],
            "usage": _openai_usage(reply),
        }
        yield b"data: " + orjson.dumps(payload) + b"\n\n"
    yield b"data: [DONE]\n\n"


def _anthropic_content(reply: Reply) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = []
    if reply.words:
        content.append({"type": "text", "text": "".join(reply.words)})
    if reply.tool_name:
        content.append(
            {
                "type": "tool_use",
                "id": "toolu_fake1",
                "name": reply.tool_name,
                "input": reply.tool_arguments,
            }
        )
    return content


def _anthropic_message(model: str, reply: Reply, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if reply.tool_name else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": reply.prompt_tokens, "output_tokens": reply.completion_tokens},
    }


async def _anthropic_events(model: str, reply: Reply, slow: bool) -> AsyncIterator[bytes]:
    def event(kind: str, payload: dict[str, Any]) -> bytes:
        return (
            f"event: {kind}\n".encode()
            + b"data: "
            + orjson.dumps({"type": kind, **payload})
            + b"\n\n"
        )

    start = _anthropic_message(model, reply, [])
    start.update(stop_reason=None, usage={"input_tokens": reply.prompt_tokens, "output_tokens": 1})
    yield event("message_start", {"message": start})
    index = 0
    if reply.words:
        yield event(
            "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
        )
        yield event("ping", {})
        for word in reply.words:
            if slow:
                await asyncio.sleep(_SLOW_WORD_S)
            yield event(
                "content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": word}}
            )
        yield event("content_block_stop", {"index": 0})
        index = 1
    if reply.tool_name:
        block = {"type": "tool_use", "id": "toolu_fake1", "name": reply.tool_name, "input": {}}
        yield event("content_block_start", {"index": index, "content_block": block})
        arguments = orjson.dumps(reply.tool_arguments).decode()
        half = len(arguments) // 2
        for fragment in (arguments[:half], arguments[half:]):
            delta = {"type": "input_json_delta", "partial_json": fragment}
            yield event("content_block_delta", {"index": index, "delta": delta})
        yield event("content_block_stop", {"index": index})
    stop = "tool_use" if reply.tool_name else "end_turn"
    yield event(
        "message_delta",
        {
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": reply.completion_tokens},
        },
    )
    yield event("message_stop", {})


def _error(
    status: int, message: str, kind: str, anthropic: bool, headers: dict[str, str] | None = None
) -> Response:
    body = (
        {"type": "error", "error": {"type": kind, "message": message}}
        if anthropic
        else {"error": {"message": message, "type": kind, "param": None, "code": None}}
    )
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


def _json(payload: Any) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


def _sse(events: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(events, media_type="text/event-stream")


def create_fake_upstream_app() -> Starlette:
    fake = FakeUpstream()
    return Starlette(
        routes=[
            Route("/v1/chat/completions", fake.chat_completions, methods=["POST"]),
            Route("/v1/messages", fake.messages, methods=["POST"]),
            Route("/v1/messages/count_tokens", fake.count_tokens, methods=["POST"]),
            Route("/v1/models", fake.models, methods=["GET"]),
            Route("/_requests", fake.requests, methods=["GET"]),
            Route("/_reset", fake.reset, methods=["POST"]),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m api_server.fakes.upstream",
        description="A fake OpenAI + Anthropic upstream for tests and demos (see the module doc).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9200)
    args = parser.parse_args(argv)
    uvicorn.run(create_fake_upstream_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
