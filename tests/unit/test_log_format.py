from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api_server.log_format import JsonLineFormatter, RequestIdFilter, current_request_id


def _format(message: str) -> dict[str, object]:
    record = logging.LogRecord("api_server.x", logging.WARNING, __file__, 1, message, (), None)
    RequestIdFilter().filter(record)
    return dict(json.loads(JsonLineFormatter().format(record)))


def test_json_line_carries_the_request_id() -> None:
    token = current_request_id.set("req-42")
    try:
        entry = _format("engine slow")
    finally:
        current_request_id.reset(token)
    assert entry["request_id"] == "req-42"
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "warning",
        "api_server.x",
        "engine slow",
    )
    assert str(entry["ts"]).endswith("+00:00")


def test_lines_outside_a_request_have_no_request_id() -> None:
    assert "request_id" not in _format("boot")


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonLineFormatter())
    logger = logging.getLogger("api_server")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_requests_log_with_their_id(client: TestClient, json_log: io.StringIO) -> None:
    body = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "foo": 1}
    response = client.post("/v1/chat/completions", json=body)
    entries = [json.loads(line) for line in json_log.getvalue().splitlines()]
    ignored = [e for e in entries if "ignoring" in e["message"]]
    assert ignored and ignored[0]["request_id"] == response.headers["x-request-id"]
