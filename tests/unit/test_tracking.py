"""Each request leaves exactly one request-log record with what happened."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.logs.record import RequestLogRecord
from api_server.registry import ModelRegistry
from tests.unit.scripted_engine import Scripted, ScriptedEngine

HELLO = [{"role": "user", "content": "hi"}]


class RecordingSink:
    def __init__(self) -> None:
        self.records: list[RequestLogRecord] = []

    def enqueue(self, record: RequestLogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def logged(models_file: Path, sink: RecordingSink) -> Iterator[TestClient]:
    app = create_app(Settings(models_file=models_file), ModelRegistry.from_file(models_file), sink)
    with TestClient(app) as client:
        yield client


def test_success_is_logged_with_tokens_and_timings(
    logged: TestClient, sink: RecordingSink, engine: ScriptedEngine
) -> None:
    body = {"model": "tiny", "messages": HELLO, "user": "alice"}
    logged.post("/v1/chat/completions", json=body, headers={"X-Request-ID": "req-1"})
    [record] = sink.records
    assert record.id == "req-1"
    assert (record.endpoint, record.api_flavour, record.model) == (
        "/v1/chat/completions",
        "openai",
        "tiny-chatml",
    )
    assert (record.engine, record.replica) == ("llamacpp", engine.url)
    assert (record.status_code, record.error_type) == (200, None)
    assert (record.prompt_tokens, record.completion_tokens) == (7, 3)
    assert record.end_user == "alice"
    assert record.stream is False
    assert record.client_addr
    assert record.latency_ms is not None and record.ttft_ms is not None
    assert 0 <= record.ttft_ms <= record.latency_ms
    assert record.received_at <= record.first_token_at <= record.finished_at  # type: ignore[operator]


def test_streams_and_failures_are_logged_once(
    logged: TestClient, sink: RecordingSink, engine: ScriptedEngine
) -> None:
    logged.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO, "stream": True})
    engine.script = Scripted(500, [b"boom"])
    logged.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO})
    logged.post("/v1/chat/completions", json={"model": "nope", "messages": HELLO})
    logged.post("/v1/completions", json={"model": "tiny", "prompt": "x"})
    assert [(r.stream, r.status_code, r.model) for r in sink.records] == [
        (True, 200, "tiny-chatml"),
        (False, 502, "tiny-chatml"),
        (False, 404, None),
        (False, 502, "tiny-chatml"),
    ]
    assert sink.records[1].error_type == "engine_error"
    assert sink.records[3].endpoint == "/v1/completions"
    assert len({r.id for r in sink.records}) == 4
