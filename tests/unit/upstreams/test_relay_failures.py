"""Relay edge cases against a misbehaving upstream on a real socket: a JSON body cut short
must not reach the client as a complete answer; a refused connection marks the replica."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.auth.fakes import ListSink
from tests.unit.upstreams.conftest import ServedApp


async def cut_short(request: Request) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        yield b'{"id": "chatcmpl-1", "choices": [{"message": {"content": "Hel'
        raise ConnectionResetError("the upstream died mid-body")

    return StreamingResponse(body(), media_type="application/json")


@pytest.fixture(scope="module")
def broken_upstream() -> Iterator[str]:
    app = Starlette(routes=[Route("/v1/chat/completions", cut_short, methods=["POST"])])
    with ServedApp(app) as served:
        yield served.url


def test_a_json_body_cut_short_is_not_relayed_as_complete(
    broken_upstream: str, tmp_path: Path
) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        "  - name: broken\n"
        f"    engine: {{kind: openai, served_name: b, urls: ['{broken_upstream}/v1']}}\n"
        "    context_length: 1000\n"
        "    max_tokens: {default: 10, limit: 10}\n"
    )
    sink = ListSink()
    app = create_app(Settings(models_file=path), ModelRegistry.from_file(path), request_log=sink)
    # A real server: the client must see a broken response, not a short "complete" one.
    with (
        ServedApp(app) as gateway,
        httpx.Client(base_url=gateway.url) as client,
        pytest.raises(httpx.TransportError),
    ):
        client.post(
            "/v1/chat/completions",
            json={"model": "broken", "messages": [{"role": "user", "content": "x"}]},
        )
    [record] = sink.records
    assert record.status_code == 502 and record.error_type == "engine_error"
