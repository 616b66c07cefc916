"""One JSON line per finished exchange, JSON bodies parsed, a stream as events + text."""

from __future__ import annotations

import json
from pathlib import Path

from api_server.interceptors.exchange import BodyChunk, Exchange
from api_server.interceptors.message_logger import MessageLogger

REQUEST = json.dumps({"model": "tiny", "messages": [{"role": "user", "content": "hi"}]})


def exchange(content_type: str, chunks: list[bytes], **extra: object) -> Exchange:
    return Exchange(
        method="POST",
        path="/v1/chat/completions",
        query="",
        request_headers=(("content-type", "application/json"),),
        request_body=REQUEST.encode(),
        started_at=1_700_000_000.0,
        status=200,
        response_headers=(("content-type", content_type), ("x-request-id", "req-9")),
        chunks=tuple(BodyChunk(float(n), c) for n, c in enumerate(chunks)),
        latency_ms=12.34,
        **extra,  # type: ignore[arg-type]
    )


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_json_and_sse_exchanges(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    logger = MessageLogger(path, max_bytes=1 << 20, backup_count=1)
    body = {"choices": [{"message": {"content": "Hello"}}]}
    logger.on_exchange_start(exchange("application/json", []))  # ignored
    logger.on_exchange_end(exchange("application/json", [json.dumps(body).encode()]))
    logger.on_exchange_end(
        exchange(
            "text/event-stream",
            [b'data: {"choices": [{"delta": {"content": "He"}}]}\n\n', b"data: [DONE]\n\n"],
            error="client disconnected",
        )
    )
    logger.close()
    first, second = lines(path)
    assert first["time"] == "2023-11-14T22:13:20+00:00"
    assert first["request_id"] == "req-9" and first["session_id"] is None
    assert first["request"] == json.loads(REQUEST)
    assert first["response"] == {"body": body}
    assert (first["status"], first["latency_ms"]) == (200, 12.3)
    assert second["response"] == {
        "events": [{"choices": [{"delta": {"content": "He"}}]}],
        "text": "He",
    }
    assert second["error"] == "client disconnected"


def test_non_json_bodies_are_text_and_many_lines_rotate_as_valid_json(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    logger = MessageLogger(path, max_bytes=2000, backup_count=2)
    for _ in range(30):
        logger.on_exchange_end(exchange("text/plain", [b"plain \xff text"]))
    logger.close()
    files = [path, path.with_name("messages.jsonl.1"), path.with_name("messages.jsonl.2")]
    assert not path.with_name("messages.jsonl.3").exists()
    for file in files:
        for record in lines(file):
            assert record["response"] == {"body": "plain \ufffd text"}
