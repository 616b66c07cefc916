"""A scripted engine on a real localhost socket, for unit tests of the gateway.

Each test sets what `/v1/completions` answers (`texts`, or a whole `Scripted` response) and
reads back what the gateway sent. It runs under uvicorn in a thread, so the gateway's own
HTTP client, pool and timeouts are exercised exactly as in production.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass
class Scripted:
    """A whole response: status, headers, body chunks, and a delay before answering."""

    status: int = 200
    body_chunks: list[bytes] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop_after_chunks: bool = False
    stall_after_chunks_s: float = 0.0  # silence after the chunks before the response ends


# Each scripted text is one token: logprob -0.5, and "X" (-2.0) its runner-up.
def token_logprobs(text: str, style: str) -> dict[str, Any]:
    """llama.cpp's per-token shape ("llama"), OpenAI's legacy lists ("legacy", vLLM), or
    those without the tokens named ("unnamed", MAX Serve)."""
    if style in ("legacy", "unnamed"):
        return {
            "tokens": [text] if style == "legacy" else None,
            "token_logprobs": [-0.5],
            "top_logprobs": [{"X": -2.0, text: -0.5}],
            "text_offset": [0],
        }
    top = [
        {"token": text, "logprob": -0.5, "bytes": list(text.encode())},
        {"token": "X", "logprob": -2.0, "bytes": [88]},
    ]
    return {"content": [{**top[0], "top_logprobs": top}]}


def sse_completion_stream(
    texts: list[str],
    finish_reason: str = "stop",
    usage: tuple[int, int] | None = (7, 3),
    logprobs: str | None = None,
) -> list[bytes]:
    chunks = []
    for text in texts:
        choice: dict[str, Any] = {"index": 0, "text": text, "finish_reason": None}
        if logprobs:
            choice["logprobs"] = token_logprobs(text, logprobs)
        payload = {"choices": [choice]}
        chunks.append(f"data: {json.dumps(payload)}\n\n".encode())
    last: dict[str, Any] = {"choices": [{"index": 0, "text": "", "finish_reason": finish_reason}]}
    if usage is not None:
        last["usage"] = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
        }
    chunks.append(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())
    return chunks


def sse_native_stream(
    texts: list[str], finish_reason: str = "stop", stopping_word: str | None = None
) -> list[bytes]:
    """llama.cpp's native `/completion` stream of the same texts."""
    chunks = [
        f"data: {json.dumps({'content': text, 'stop': False})}\n\n".encode() for text in texts
    ]
    stop_type = "word" if stopping_word else "limit" if finish_reason == "length" else "eos"
    last = {
        "content": "",
        "stop": True,
        "stop_type": stop_type,
        "stopping_word": stopping_word or "",
        "tokens_evaluated": 7,
        "tokens_predicted": 3,
    }
    chunks.append(f"data: {json.dumps(last)}\n\n".encode())
    return chunks


class ScriptedEngine:
    def __init__(self) -> None:
        self.reset()
        self.port = 0
        self._server: uvicorn.Server | None = None

    def reset(self) -> None:
        self.texts = ["The capital", " of France", " is Paris."]
        self.finish_reason = "stop"
        self.stopping_word: str | None = None  # what llama.cpp's native endpoint reports
        self.script: Scripted | None = None
        self.adds_bos = False
        self.healthy = True
        self.queued = 0
        self.total_slots: int | None = None  # llama.cpp's /props; None: no /props (404)
        self.metrics_paths: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.tokenize_requests: list[dict[str, Any]] = []
        self.probe_requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def last_request(self) -> dict[str, Any]:
        return self.requests[-1]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        path = scope["path"]
        if path == "/health":
            await _respond(send, Scripted(200 if self.healthy else 503, [b'{"status":"ok"}']))
        elif path.endswith("/metrics"):  # MAX Serve's are on a port of their own
            self.metrics_paths.append(path)
            text = (
                f"llamacpp:requests_deferred {self.queued}\n"
                f'maxserve_num_requests_queued{{model="m"}} {self.queued}\n'
            )
            await _respond(send, Scripted(200, [text.encode()]))
        elif path == "/props":
            if self.total_slots is None:
                await _respond(send, Scripted(404, [b'{"error":"not found"}']))
            else:
                props = json.dumps({"total_slots": self.total_slots}).encode()
                await _respond(send, Scripted(200, [props]))
        elif path == "/tokenize":
            # One token per word, after BOS when the engine adds one.
            request = json.loads(body)
            self.tokenize_requests.append(request)
            words = str(request.get("content", request.get("prompt", ""))).split()
            tokens = [1] * self.adds_bos + [2] * len(words)
            await _respond(send, Scripted(200, [json.dumps({"tokens": tokens}).encode()]))
        elif not json.loads(body).get("stream"):
            # A one-shot completion (MAX's BOS probe): the prompt is one token, after BOS
            # when the engine adds one.
            self.probe_requests.append(json.loads(body))
            usage = {"prompt_tokens": 1 + self.adds_bos, "completion_tokens": 1}
            answer = {"choices": [{"index": 0, "text": "x", "finish_reason": "length"}]}
            await _respond(send, Scripted(200, [json.dumps({**answer, "usage": usage}).encode()]))
        else:
            request = json.loads(body)
            self.requests.append(request)
            self.request_headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
            # Logprobs when asked, in the shape of the engine asking (vLLM's bodies always
            # say skip_special_tokens, llama.cpp's cache_prompt).
            style = None
            if request.get("logprobs") is not None:
                style = (
                    "legacy"
                    if "skip_special_tokens" in request
                    else "llama"
                    if "cache_prompt" in request
                    else "unnamed"
                )
            chunks = (
                sse_native_stream(self.texts, self.finish_reason, self.stopping_word)
                if path == "/completion"
                else sse_completion_stream(self.texts, self.finish_reason, logprobs=style)
            )
            script = self.script or Scripted(200, chunks, {"content-type": "text/event-stream"})
            await _respond(send, script)

    def start(self) -> None:
        self._server, self.port = serve_in_thread(self)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True


async def read_body(receive: Any) -> bytes:
    """An ASGI request's whole body."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def serve_in_thread(app: Any, **config: Any) -> tuple[uvicorn.Server, int]:
    """Serve an ASGI app on a free localhost port, under uvicorn in a daemon thread; returns
    once it accepts connections."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="error", lifespan="off", **config
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{type(app).__name__} did not start")
        time.sleep(0.01)
    return server, port


@contextmanager
def running_engine() -> Iterator[ScriptedEngine]:
    """A scripted engine serving on a free port while the block runs."""
    engine = ScriptedEngine()
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()


async def _respond(send: Any, script: Scripted) -> None:
    if script.delay_s:
        await asyncio.sleep(script.delay_s)
    headers = [(k.lower().encode(), v.encode()) for k, v in script.headers.items()]
    await send({"type": "http.response.start", "status": script.status, "headers": headers})
    for chunk in script.body_chunks:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    if script.drop_after_chunks:
        raise ConnectionAbortedError("scripted drop")  # uvicorn closes the socket
    if script.stall_after_chunks_s:
        await asyncio.sleep(script.stall_after_chunks_s)
    await send({"type": "http.response.body", "body": b"", "more_body": False})
