"""Recordings: everything needed to re-send, never a credential."""

from __future__ import annotations

from pathlib import Path

from api_server.interceptors.event_recorder import EventRecorder
from api_server.interceptors.exchange import BodyChunk, Exchange
from api_server.interceptors.exchange_log import read_recording

SECRET = "sk-very-secret-key-123"


def test_credentials_are_never_written_and_bodies_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "rec" / "recording.jsonl"
    recorder = EventRecorder(path)
    exchange = Exchange(
        method="POST",
        path="/v1/messages",
        query="beta=true",
        request_headers=(
            ("Authorization", f"Bearer {SECRET}"),
            ("x-api-key", SECRET),
            ("cookie", f"session={SECRET}"),
            ("anthropic-version", "2023-06-01"),
        ),
        request_body=b"\x00\xffbinary",
        started_at=1_700_000_000.5,
        status=200,
        response_headers=(("content-type", "text/event-stream"), ("set-cookie", SECRET)),
        chunks=(BodyChunk(1.5, b"data: a\n\n"), BodyChunk(30.25, b"data: \xe2\x82")),
        latency_ms=31.0,
    )
    recorder.on_exchange_end(exchange)
    recorder.on_exchange_end(exchange)
    recorder.close()
    assert SECRET not in path.read_text()
    first, second = list(read_recording(path))
    assert first == second
    assert first.request_headers == [("anthropic-version", "2023-06-01")]
    assert first.request_bytes() == b"\x00\xffbinary"
    assert first.request_body_encoding == "base64"
    assert [c.offset_ms for c in first.chunks] == [1.5, 30.25]
    assert first.response_bytes() == b"data: a\n\ndata: \xe2\x82"
    assert (first.query, first.status, first.time.timestamp()) == ("beta=true", 200, 1.7e9 + 0.5)
