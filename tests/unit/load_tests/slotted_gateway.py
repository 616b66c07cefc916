"""A fake chat gateway with a known capacity: `slots` requests served at once, each taking
`service_s` (streamed as `tokens` evenly spaced chunks), the rest waiting their turn in
arrival order. Its capacity is slots / service_s requests per second, which is what lets a
test hold the load tester's sweep against queueing theory.

It serves `POST /v1/chat/completions` (streamed or not) on a real localhost socket, under
uvicorn in a thread, like `tests/unit/scripted_engine.py`, and keeps each request's body
(`bodies`, in arrival order) so that a test can assert what the load tester sent. On
`POST /v1/completions` it streams text-completion chunks instead: an engine's, for the
load tester's direct runs. `GET /metrics` answers the gateway's own metrics of what it served
(request latency, time to first token, completion tokens; prometheus_client's histograms
with the gateway's bucket bounds), which the load tester scrapes around each step.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from api_server.metrics import _LATENCY_BUCKETS
from tests.unit.scripted_engine import read_body, serve_in_thread


class SlottedGateway:
    def __init__(self, slots: int, service_s: float, tokens: int = 4) -> None:
        self.slots, self.service_s, self.tokens = slots, service_s, tokens
        self.port = 0
        self.served = 0
        self.most_in_service = 0
        self.bodies: list[dict[str, Any]] = []
        self._in_service = 0
        self._gate: asyncio.Semaphore | None = None  # made on uvicorn's event loop
        self._server: uvicorn.Server | None = None
        self.metrics = CollectorRegistry()
        self._latency = Histogram(
            "inferstack_request_latency_seconds", "", ["endpoint", "model"],
            buckets=_LATENCY_BUCKETS, registry=self.metrics,
        )  # fmt: skip
        self._ttft = Histogram(
            "inferstack_time_to_first_token_seconds", "", ["model"],
            buckets=_LATENCY_BUCKETS, registry=self.metrics,
        )  # fmt: skip
        self._tokens = Counter("inferstack_completion_tokens", "", ["model"], registry=self.metrics)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def capacity_per_s(self) -> float:
        return self.slots / self.service_s

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        received = time.perf_counter()
        if scope["method"] == "GET" and scope["path"] == "/metrics":
            await _send_body(send, generate_latest(self.metrics), b"text/plain")
            return
        body = await read_body(receive)
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.slots)  # FIFO: waiters resume in order
        request = json.loads(body)
        self.bodies.append(request)
        async with self._gate:
            self._in_service += 1
            self.most_in_service = max(self.most_in_service, self._in_service)
            try:
                if request.get("stream"):
                    await self._stream(send, text=scope["path"].endswith("/v1/completions"))
                else:
                    await asyncio.sleep(self.service_s)
                    await self._complete(send)
                model = str(request.get("model"))
                self._latency.labels(scope["path"], model).observe(time.perf_counter() - received)
                self._ttft.labels(model).observe(self.service_s / self.tokens)
                self._tokens.labels(model).inc(self.tokens)
            finally:
                self._in_service -= 1
                self.served += 1

    async def _stream(self, send: Any, text: bool) -> None:
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for _ in range(self.tokens):
            await asyncio.sleep(self.service_s / self.tokens)
            choice = {"text": "tok "} if text else {"delta": {"content": "tok "}}
            chunk = {"choices": [{"index": 0, **choice}]}
            await _event(send, json.dumps(chunk))
        usage = {"prompt_tokens": 5, "completion_tokens": self.tokens}
        await _event(send, json.dumps({"choices": [], "usage": usage}))
        await _event(send, "[DONE]", last=True)

    async def _complete(self, send: Any) -> None:
        answer = {
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "tok " * 4}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": self.tokens},
        }
        await _send_body(send, json.dumps(answer).encode(), b"application/json")

    def start(self) -> None:
        # A deep listen backlog: an open loop past capacity opens many connections at once.
        self._server, self.port = serve_in_thread(self, backlog=2048)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True


@contextmanager
def running_gateway(slots: int, service_s: float) -> Iterator[SlottedGateway]:
    gateway = SlottedGateway(slots, service_s)
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


async def _event(send: Any, data: str, last: bool = False) -> None:
    body = f"data: {data}\n\n".encode()
    await send({"type": "http.response.body", "body": body, "more_body": not last})


async def _send_body(send: Any, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
