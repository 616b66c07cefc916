"""The remote embedding backend against a real socket speaking OpenAI's /v1/embeddings."""

from __future__ import annotations

import json
import socket
import threading

import aiohttp
import pytest

from api_server.embeddings.backend import build_embedder
from api_server.embeddings.remote import RemoteEmbedder
from api_server.errors import EmbeddingsUnavailableError


class EmbeddingServer:
    """Answers every request with two vectors given out of order (index 1 first)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[dict[str, object]] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        body = json.dumps(
            {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": 1, "embedding": [0.0, 1.0]},
                    {"object": "embedding", "index": 0, "embedding": [1.0, 0.0]},
                ],
                "model": "m",
                "usage": {"prompt_tokens": 5, "total_tokens": 5},
            }
        ).encode()
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                raw = conn.recv(65536)
                self.requests.append(json.loads(raw.split(b"\r\n\r\n", 1)[1]))
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )


async def test_vectors_come_back_in_input_order() -> None:
    server = EmbeddingServer()
    try:
        async with aiohttp.ClientSession() as http:
            embedder = build_embedder("all-MiniLM-L6-v2", server.url, http)
            assert isinstance(embedder, RemoteEmbedder) and embedder.ready()
            batch = await embedder.embed(["a", "b"])
    finally:
        server.sock.close()
    assert batch.vectors == [[1.0, 0.0], [0.0, 1.0]]
    assert batch.prompt_tokens == 5
    assert server.requests == [{"model": "all-MiniLM-L6-v2", "input": ["a", "b"]}]


async def test_an_unreachable_server_is_embeddings_unavailable() -> None:
    async with aiohttp.ClientSession() as http:
        embedder = RemoteEmbedder(http, "http://127.0.0.1:9", "m")
        with pytest.raises(EmbeddingsUnavailableError, match="not reachable"):
            await embedder.embed(["a"])
