"""A fast fake OpenAI-compatible completions engine, for tests, load tests and benchmarks.

It speaks the subset of the engine API the gateway uses (vLLM / llama.cpp / MAX all serve
it): ``POST /v1/completions`` (raw prompt, JSON or SSE), ``GET /v1/models``, ``GET /health``
and llama.cpp's ``POST /tokenize`` and ``POST /completion``. It is a raw ASGI app (no
framework) so that it costs next to nothing next to the gateway being measured.

Run it: ``python -m api_server.fakes.engine --host 127.0.0.1 --port 9100``; in-process:
``create_fake_engine_app()``.

Behaviour is chosen by the request's ``model`` (prefix match, first row wins):

======================== ===============================================================
model                    behaviour
======================== ===============================================================
``fake-slow[-MS]``       the default reply, sleeping MS ms (default 50) before each token
``fake-error-500``       500 with an OpenAI error body
``fake-429``             429 with ``Retry-After: 2`` (MAX Serve's full queue)
``fake-503``             503 "Loading model" (llama.cpp while it loads)
``fake-midstream-error`` streams two chunks, then an error event and ``[DONE]`` (vLLM)
``fake-midstream-drop``  streams two chunks, then closes the connection abruptly
``fake-hang``            never answers (sleeps an hour, or until the client goes away)
``fake-tool-hermes``     ``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``
``fake-tool-llama3``     ``{"name": ..., "parameters": {...}}`` (ends on eot: "stop")
``fake-tool-mistral-v7`` ``[TOOL_CALLS][{"name": ..., "arguments": {...}, "id": ...}]``
``fake-tool-mistral-v13`` ``[TOOL_CALLS]get_weather[ARGS]{...}``
``fake-len-N``           exactly N tokens of ``"tok "`` (throughput tests)
anything else            "Hello from the fake engine." in 6 tokens
======================== ===============================================================

Tool replies stream in tokens of 4 characters so the gateway's streaming parser sees the
syntax split at awkward places. Every reply honours ``max_tokens`` (cut: finish_reason
"length") and ``stop`` (cut before the stop string: "stop"); usage counts prompt tokens as
whitespace-separated words. ``stream_options.include_usage`` adds a final usage chunk.
llama.cpp's native ``POST /completion`` (``n_predict``; ``content`` chunks, then a last one
with ``stop_type`` eos/word/limit, ``stopping_word`` and token counts) serves the same
replies: the gateway uses it for llama.cpp requests that carry the client's stop strings.

Test hooks: ``GET /_last_request`` is the body of the last ``/v1/completions`` request
(``null`` before the first); ``GET /_stats`` counts requests, requests in flight and streams
or requests whose client went away before the end (``cancelled_streams``,
``cancelled_requests``; watched for ``fake-slow`` and ``fake-hang`` only, the others finish
too fast to tell); ``POST /_reset`` clears both.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import time
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEFAULT_REPLY = ("Hello", " from", " the", " fake", " engine", ".")
WEATHER_ARGS = '{"city": "Paris", "unit": "celsius"}'
TOOL_TEXTS = {
    "fake-tool-hermes": (
        f'<tool_call>\n{{"name": "get_weather", "arguments": {WEATHER_ARGS}}}\n</tool_call>'
    ),
    "fake-tool-llama3": f'{{"name": "get_weather", "parameters": {WEATHER_ARGS}}}',
    "fake-tool-mistral-v7": (
        f'[TOOL_CALLS][{{"name": "get_weather", "arguments": {WEATHER_ARGS}, "id": "a1B2c3D4e"}}]'
    ),
    "fake-tool-mistral-v13": f"[TOOL_CALLS]get_weather[ARGS]{WEATHER_ARGS}",
}
MODEL_IDS = (
    *["fake", "fake-slow", "fake-error-500", "fake-429", "fake-503", "fake-midstream-error"],
    *["fake-midstream-drop", "fake-hang", "fake-len-128"],
    *TOOL_TEXTS,
)
SLOW_TOKEN_S = 0.05
HANG_S = 3600.0
JSON_HEADERS = [(b"content-type", b"application/json")]
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


@dataclass
class FakeEngineStats:
    """Counters behind ``GET /_stats``."""

    requests_total: int = 0
    completions_total: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    completed_streams: int = 0
    cancelled_streams: int = 0
    cancelled_requests: int = 0


@dataclass
class FakeEngineState:
    stats: FakeEngineStats = field(default_factory=FakeEngineStats)
    last_request: Any = None


@dataclass(frozen=True)
class ErrorReply:
    status: int
    message: str
    error_type: str
    headers: tuple[tuple[bytes, bytes], ...] = ()


@dataclass(frozen=True)
class TextReply:
    tokens: tuple[str, ...]
    finish_reason: str = "stop"
    token_delay_s: float = 0.0
    # After this many chunks a stream fails: "error" sends an error event, "drop" hangs up.
    fail_after: int | None = None
    failure: str = ""
    stop_word: str | None = None  # the client's stop string that cut the reply


Reply = ErrorReply | TextReply | None  # None: hang

ERRORS = {
    "fake-error-500": ErrorReply(500, "Fake internal engine error", "server_error"),
    "fake-429": ErrorReply(
        429, "Fake engine queue is full", "rate_limit_error", ((b"retry-after", b"2"),)
    ),
    "fake-503": ErrorReply(503, "Loading model", "unavailable_error"),
}


def choose_reply(model: str) -> Reply:
    """The scenario for a model name (see the module docstring)."""
    for prefix, error in ERRORS.items():
        if model.startswith(prefix):
            return error
    if model.startswith("fake-hang"):
        return None
    if model.startswith("fake-slow"):
        suffix = model.removeprefix("fake-slow").removeprefix("-")
        delay = int(suffix) / 1000 if suffix.isdigit() else SLOW_TOKEN_S
        return TextReply(DEFAULT_REPLY, token_delay_s=delay)
    if model.startswith("fake-midstream-"):
        failure = "drop" if model.startswith("fake-midstream-drop") else "error"
        return TextReply(DEFAULT_REPLY, fail_after=2, failure=failure)
    for prefix, text in TOOL_TEXTS.items():
        if model.startswith(prefix):
            return TextReply(tuple(text[i : i + 4] for i in range(0, len(text), 4)))
    if model.startswith("fake-len-") and model.removeprefix("fake-len-").isdigit():
        return TextReply(("tok ",) * int(model.removeprefix("fake-len-")))
    return TextReply(DEFAULT_REPLY)


def apply_limits(reply: TextReply, max_tokens: Any, stop: Any) -> TextReply:
    """Cut the reply at ``max_tokens`` ("length") or before the first ``stop`` ("stop")."""
    tokens, finish = reply.tokens, reply.finish_reason
    if isinstance(max_tokens, int) and 0 <= max_tokens < len(tokens):
        tokens, finish = tokens[:max_tokens], "length"
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    text = "".join(tokens)
    cuts = sorted((text.find(s), s) for s in stops if isinstance(s, str) and s and s in text)
    stop_word = None
    if cuts:
        (cut, stop_word), kept, used = cuts[0], [], 0
        for token in tokens:
            if used + len(token) > cut:
                if cut > used:
                    kept.append(token[: cut - used])
                break
            kept.append(token)
            used += len(token)
        tokens, finish = tuple(kept), "stop"
    return TextReply(
        tokens, finish, reply.token_delay_s, reply.fail_after, reply.failure, stop_word
    )


def count_prompt_tokens(prompt: Any) -> int:
    if isinstance(prompt, list):
        if prompt and all(isinstance(t, int) for t in prompt):
            return len(prompt)
        return sum(count_prompt_tokens(p) for p in prompt)
    return len(prompt.split()) if isinstance(prompt, str) else 0


def error_body(status: int, message: str, error_type: str) -> bytes:
    return orjson.dumps(
        {"error": {"message": message, "type": error_type, "param": None, "code": status}}
    )


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def send_response(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    all_headers = [*(headers or JSON_HEADERS), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


class FakeEngineApp:
    """The ASGI app; ``state`` holds the counters and the last request for tests."""

    def __init__(self) -> None:
        self.state = FakeEngineState()
        self._ids = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                kind = (await receive())["type"]
                if kind == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif kind == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        stats = self.state.stats
        stats.requests_total += 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            await self._route(scope, receive, send)
        finally:
            stats.in_flight -= 1

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        if method == "POST" and path == "/v1/completions":
            await self._completions(receive, send)
        elif method == "POST" and path == "/completion":  # llama.cpp's native endpoint
            await self._completions(receive, send, native=True)
        elif method == "POST" and path == "/tokenize":
            await self._tokenize(receive, send)
        elif method == "GET" and path == "/health":
            await send_response(send, 200, b'{"status":"ok"}')
        elif method == "GET" and path == "/v1/models":
            await send_response(send, 200, self._models_body())
        elif method == "GET" and path == "/_last_request":
            await send_response(send, 200, orjson.dumps(self.state.last_request))
        elif method == "GET" and path == "/_stats":
            await send_response(send, 200, orjson.dumps(asdict(self.state.stats)))
        elif method == "POST" and path == "/_reset":
            in_flight = self.state.stats.in_flight
            self.state = FakeEngineState(FakeEngineStats(in_flight=in_flight))
            await send_response(send, 200, b'{"status":"ok"}')
        else:
            await send_response(send, 404, error_body(404, f"No route {path}", "not_found_error"))

    def _models_body(self) -> bytes:
        created = int(time.time())
        models = [
            {"id": m, "object": "model", "created": created, "owned_by": "inferstack-fake"}
            for m in MODEL_IDS
        ]
        return orjson.dumps({"object": "list", "data": models})

    async def _tokenize(self, receive: Receive, send: Send) -> None:
        try:
            body = orjson.loads(await read_body(receive))
            content = body.get("content", "")
        except (orjson.JSONDecodeError, AttributeError):
            await send_response(send, 400, error_body(400, "Invalid JSON", "invalid_request_error"))
            return
        tokens = [zlib.crc32(w.encode()) % 32000 + 2 for w in str(content).split()]
        if body.get("add_special"):
            tokens.insert(0, 1)  # BOS
        await send_response(send, 200, orjson.dumps({"tokens": tokens}))

    async def _completions(self, receive: Receive, send: Send, native: bool = False) -> None:
        try:
            body = orjson.loads(await read_body(receive))
            if not isinstance(body, dict):
                raise TypeError("body must be a JSON object")
        except (orjson.JSONDecodeError, TypeError) as exc:
            await send_response(send, 400, error_body(400, str(exc), "invalid_request_error"))
            return
        self.state.last_request = body
        self.state.stats.completions_total += 1
        model = str(body.get("model", "fake"))
        reply = choose_reply(model)
        if isinstance(reply, ErrorReply):
            headers = [*JSON_HEADERS, *reply.headers]
            payload = error_body(reply.status, reply.message, reply.error_type)
            await send_response(send, reply.status, payload, headers)
            return
        # Only replies that take a while watch for the client leaving: a fast reply is sent
        # before a departure could be seen, and the watcher task costs time per request.
        gone = asyncio.Event()
        slow = reply is None or reply.token_delay_s > 0
        watcher = asyncio.create_task(_watch_disconnect(receive, gone)) if slow else None
        stream = bool(body.get("stream"))
        try:
            if reply is None:
                await _client_left(gone, HANG_S)
                self._count_cancelled(stream)
                return
            limit = body.get("n_predict" if native else "max_tokens")
            reply = apply_limits(reply, limit, body.get("stop"))
            completion = _Completion(f"cmpl-fake-{next(self._ids)}", model, body, reply, native)
            if stream:
                await self._stream(send, completion, gone)
            else:
                await self._complete(send, completion, gone)
        finally:
            if watcher:
                watcher.cancel()

    def _count_cancelled(self, stream: bool) -> None:
        if stream:
            self.state.stats.cancelled_streams += 1
        else:
            self.state.stats.cancelled_requests += 1

    async def _complete(self, send: Send, completion: _Completion, gone: asyncio.Event) -> None:
        reply = completion.reply
        delay_s = reply.token_delay_s * len(reply.tokens)
        if delay_s and await _client_left(gone, delay_s):
            self._count_cancelled(stream=False)
            return
        if reply.fail_after is not None:
            body = error_body(500, "Fake engine failed mid-generation", "server_error")
            await send_response(send, 500, body)
            return
        await send_response(send, 200, completion.full_body())

    async def _stream(self, send: Send, completion: _Completion, gone: asyncio.Event) -> None:
        reply = completion.reply
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        for index, token in enumerate(reply.tokens):
            if reply.fail_after == index:
                if reply.failure == "drop":
                    return  # uvicorn closes the connection: the response never completes
                error = error_body(500, "Fake engine failed mid-stream", "server_error")
                await _send_event(send, error)
                await _send_event(send, b"[DONE]", last=True)
                return
            if reply.token_delay_s and await _client_left(gone, reply.token_delay_s):
                self._count_cancelled(stream=True)
                return
            await _send_event(send, completion.chunk(token, None))
        await _send_event(send, completion.chunk("", reply.finish_reason))
        if completion.include_usage and not completion.native:
            await _send_event(send, completion.usage_chunk())
        if completion.native:  # llama.cpp's native stream just ends
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            await _send_event(send, b"[DONE]", last=True)
        self.state.stats.completed_streams += 1


async def _client_left(gone: asyncio.Event, delay_s: float) -> bool:
    """Sleep ``delay_s`` unless the client leaves first; True when it left."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(gone.wait(), delay_s)
    return gone.is_set()


async def _send_event(send: Send, data: bytes, last: bool = False) -> None:
    await send(
        {"type": "http.response.body", "body": b"data: " + data + b"\n\n", "more_body": not last}
    )


class _Completion:
    """One reply's wire shapes."""

    def __init__(
        self,
        completion_id: str,
        model: str,
        body: dict[str, Any],
        reply: TextReply,
        native: bool = False,
    ) -> None:
        self.id, self.model, self.reply, self.native = completion_id, model, reply, native
        self.created = int(time.time())
        prompt, completion = count_prompt_tokens(body.get("prompt", "")), len(reply.tokens)
        self.usage = {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion}  # fmt: skip
        options = body.get("stream_options")
        self.include_usage = isinstance(options, dict) and bool(options.get("include_usage"))

    def _envelope(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self.id, "object": "text_completion", "created": self.created,
                "model": self.model, "choices": choices}  # fmt: skip

    def _native(self, text: str, last: bool) -> bytes:
        """llama.cpp's native shape: `content`, and on the last object how it stopped."""
        if not last:
            return orjson.dumps({"content": text, "stop": False})
        reply = self.reply
        stop_type = (
            "word" if reply.stop_word else "limit" if reply.finish_reason == "length" else "eos"
        )
        return orjson.dumps(
            {
                "content": text,
                "stop": True,
                "stop_type": stop_type,
                "stopping_word": reply.stop_word or "",
                "tokens_predicted": self.usage["completion_tokens"],
                "tokens_evaluated": self.usage["prompt_tokens"],
            }
        )

    def full_body(self) -> bytes:
        text, finish_reason = "".join(self.reply.tokens), self.reply.finish_reason
        if self.native:
            return self._native(text, last=True)
        choice = {"index": 0, "text": text, "finish_reason": finish_reason, "logprobs": None}
        return orjson.dumps({**self._envelope([choice]), "usage": self.usage})

    def chunk(self, text: str, finish_reason: str | None) -> bytes:
        if self.native:
            return self._native(text, last=finish_reason is not None)
        choice = {"index": 0, "text": text, "finish_reason": finish_reason, "logprobs": None}
        return orjson.dumps(self._envelope([choice]))

    def usage_chunk(self) -> bytes:
        return orjson.dumps({**self._envelope([]), "usage": self.usage})


def create_fake_engine_app() -> FakeEngineApp:
    return FakeEngineApp()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible completions engine")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    import uvicorn

    uvicorn.run(
        create_fake_engine_app(),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level=args.log_level,
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
