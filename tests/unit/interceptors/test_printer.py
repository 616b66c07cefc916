"""The printer's two lines per exchange."""

from __future__ import annotations

import io
import json

import pytest

from api_server.interceptors.exchange import BodyChunk, Exchange
from api_server.interceptors.printer import Printer

REQUEST = {"model": "tiny", "stream": True, "messages": [{"role": "user", "content": "x" * 200}]}
STREAM = [
    b'data: {"choices": [{"delta": {"content": "The capital"}}]}\n\n',
    b'data: {"choices": [{"delta": {"content": " is Paris."}}]}\n\n',
    b"data: [DONE]\n\n",
]


def exchange(status: int | None) -> Exchange:
    return Exchange(
        method="POST",
        path="/v1/chat/completions",
        query="",
        request_headers=(),
        request_body=json.dumps(REQUEST).encode(),
        started_at=0.0,
        status=status,
        response_headers=(("content-type", "text/event-stream"),) if status else (),
        chunks=tuple(BodyChunk(n, c) for n, c in enumerate(STREAM)) if status else (),
        latency_ms=41.6 if status else None,
    )


def test_a_line_at_the_start_and_one_at_the_end() -> None:
    out = io.StringIO()
    printer = Printer(color=False, file=out)
    printer.on_exchange_start(exchange(None))
    printer.on_exchange_end(exchange(200))
    start, end = out.getvalue().splitlines()
    assert start == f'→ POST /v1/chat/completions model=tiny stream "{"x" * 79}…"'
    assert end == '← 200 POST /v1/chat/completions 42 ms 3 events "The capital is Paris."'


def test_color_paints_the_status() -> None:
    out = io.StringIO()
    Printer(color=True, file=out).on_exchange_end(exchange(200))
    assert "\x1b[32m200\x1b[0m" in out.getvalue()


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_the_chosen_stream(stream: str, capsys: pytest.CaptureFixture[str]) -> None:
    Printer(stream=stream, color=None).on_exchange_start(exchange(None))  # type: ignore[arg-type]
    captured = capsys.readouterr()
    assert ("POST" in captured.out) == (stream == "stdout")
    assert ("POST" in captured.err) == (stream == "stderr")
    assert "\x1b[" not in captured.out + captured.err  # not a terminal: no colour
