"""Through the gateway: with the archive on, each request's row names an object holding its
request and response; with it off, nothing is kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.logs.record import RequestLogRecord
from api_server.registry import ModelRegistry
from tests.unit.scripted_engine import ScriptedEngine

HELLO = [{"role": "user", "content": "hi"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object"}},
}


class RecordingSink:
    def __init__(self) -> None:
        self.records: list[RequestLogRecord] = []

    def enqueue(self, record: RequestLogRecord) -> None:
        self.records.append(record)


def _gateway(models_file: Path, sink: RecordingSink, **settings: Any) -> TestClient:
    app = create_app(
        Settings(models_file=models_file, **settings), ModelRegistry.from_file(models_file), sink
    )
    return TestClient(app)


@pytest.fixture
def objects(tmp_path: Path) -> Path:
    return tmp_path / "objects"


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def archiving(models_file: Path, sink: RecordingSink, objects: Path) -> Iterator[TestClient]:
    with _gateway(models_file, sink, archive_enabled=True, object_store_path=objects) as client:
        yield client


def _archived(objects: Path, record: RequestLogRecord) -> dict[str, object]:
    assert record.archive_key == f"{record.received_at:%Y/%m/%d}/{record.id}.json"
    loaded: dict[str, object] = json.loads((objects / record.archive_key).read_bytes())
    return loaded


def test_non_stream_archives_request_and_response_object(
    models_file: Path, sink: RecordingSink, objects: Path
) -> None:
    body = {"model": "tiny", "messages": HELLO, "user": "alice"}
    with _gateway(models_file, sink, archive_enabled=True, object_store_path=objects) as client:
        response = client.post("/v1/chat/completions", json=body)
    # Leaving the client shut the gateway down, which drains the archive queue.
    [record] = sink.records
    payload = _archived(objects, record)
    assert payload["request"] == body
    assert payload["response"] == response.json()
    assert (payload["id"], payload["status_code"], payload["stream"]) == (record.id, 200, False)


def test_stream_archives_assembled_text_calls_and_usage(
    models_file: Path, sink: RecordingSink, objects: Path, engine: ScriptedEngine
) -> None:
    engine.texts = ["Let me check. ", "<tool_call>\n", '{"name": "get_weather", "arguments": ',
                    '{"city": "Paris"}}\n</tool_call>']  # fmt: skip
    body = {"model": "tiny", "messages": HELLO, "tools": [WEATHER_TOOL], "stream": True}
    with _gateway(models_file, sink, archive_enabled=True, object_store_path=objects) as client:
        client.post("/v1/chat/completions", json=body)
    [record] = sink.records
    assert _archived(objects, record)["response"] == {
        "content": "Let me check. ",
        "tool_calls": [{"name": "get_weather", "arguments": '{"city": "Paris"}'}],
        "finish_reason": "tool_calls",
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
    }


def test_failed_requests_are_archived_with_their_error(
    models_file: Path, sink: RecordingSink, objects: Path
) -> None:
    with _gateway(models_file, sink, archive_enabled=True, object_store_path=objects) as client:
        client.post("/v1/completions", json={"model": "engine-down", "prompt": "x"})
    [record] = sink.records
    payload = _archived(objects, record)
    assert payload["request"] == {"model": "engine-down", "prompt": "x"}
    assert payload["response"] is None
    error = payload["error"]
    assert isinstance(error, dict) and error["type"] == "service_unavailable"


def test_archive_off_keeps_nothing(models_file: Path, sink: RecordingSink, objects: Path) -> None:
    with _gateway(models_file, sink, object_store_path=objects) as client:
        client.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO})
    [record] = sink.records
    assert record.archive_key is None
    assert list(objects.iterdir()) == []


def test_archive_metrics_are_exported(archiving: TestClient) -> None:
    archiving.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO})
    assert "inferstack_archive_queue_depth" in archiving.get("/metrics").text
