"""The engine client against a raw socket server that hangs up like a stale keep-alive
connection: accepts, reads the request, closes without a byte (or resets before reading it,
or after answering a status)."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from typing import Literal

import aiohttp
import pytest

from api_server.chat.sampling import SamplingParams
from api_server.engines.client import EngineReplica
from api_server.engines.types import CompletionRequest
from api_server.errors import EngineResponseError, EngineUnavailableError
from api_server.prompts.base import FormattedPrompt

OK_STREAM = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
    b'data: {"choices": [{"index": 0, "text": "Hi", "finish_reason": "stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


HangUp = Literal["close", "reset", "after-status"]


class HangUpServer:
    """Hangs up on the first `drops` connections, then answers with one SSE stream."""

    def __init__(self, drops: int, how: HangUp = "close") -> None:
        self.drops = drops
        self.how = how
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.connections += 1
                conn.recv(65536)
                if self.connections <= self.drops and self.how == "reset":
                    # RST, not FIN: the client's next read or write fails with ECONNRESET.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif self.connections > self.drops:
                    conn.sendall(OK_STREAM)
                elif self.how == "after-status":
                    conn.sendall(OK_STREAM.split(b"\r\n\r\n")[0] + b"\r\n\r\n")


@pytest.fixture
def request_() -> CompletionRequest:
    return CompletionRequest(
        prompt=FormattedPrompt(text="hi", starts_with_bos=False),
        sampling=SamplingParams(max_tokens=4),
        request_id="r",
    )


@pytest.fixture
def servers() -> Iterator[list[HangUpServer]]:
    made: list[HangUpServer] = []
    yield made
    for server in made:
        server.sock.close()


@pytest.mark.parametrize("how", ["close", "reset"])
async def test_one_hang_up_before_any_answer_is_retried(
    request_: CompletionRequest, servers: list[HangUpServer], how: HangUp
) -> None:
    """The engine hung up without answering (as a pooled connection it dropped does: a
    close, or a reset seen as "Can not write request body" or on the first read): it
    never took the request, so it goes again on a fresh connection."""
    server = HangUpServer(drops=1, how=how)
    servers.append(server)
    async with aiohttp.ClientSession() as http:
        replica = EngineReplica(http, "vllm", "m", server.url)
        chunks = [c async for c in replica.stream_completion(request_, timeout_s=5)]
    assert [c.text for c in chunks] == ["Hi"]
    assert server.connections == 2
    assert replica.in_flight == 0


async def test_a_second_hang_up_is_engine_unavailable(
    request_: CompletionRequest, servers: list[HangUpServer]
) -> None:
    server = HangUpServer(drops=2)
    servers.append(server)
    async with aiohttp.ClientSession() as http:
        replica = EngineReplica(http, "vllm", "m", server.url)
        with pytest.raises(EngineUnavailableError, match="failed before answering"):
            async for _ in replica.stream_completion(request_, timeout_s=5):
                pass
    assert server.connections == 2
    assert replica.in_flight == 0


async def test_a_hang_up_after_the_status_is_not_retried(
    request_: CompletionRequest, servers: list[HangUpServer]
) -> None:
    """Once the engine answered, it has the request: no second generation; and a stream
    that ends without a finish reason is a cut-off answer, not an empty one."""
    server = HangUpServer(drops=1, how="after-status")
    servers.append(server)
    async with aiohttp.ClientSession() as http:
        replica = EngineReplica(http, "vllm", "m", server.url)
        with pytest.raises(EngineResponseError, match="ended its stream before finishing"):
            async for _ in replica.stream_completion(request_, timeout_s=5):
                pass
    assert server.connections == 1
