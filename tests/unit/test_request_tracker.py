"""The request tracker on its own: what it writes to is handed to it, and the log row gets
its fields through its named methods."""

from __future__ import annotations

from api_server.chat.events import Usage
from api_server.errors import EngineOverloadedError
from api_server.logs.record import RequestLogRecord
from api_server.metrics import GatewayMetrics
from api_server.tracking import RequestTracker


class Sink:
    def __init__(self) -> None:
        self.records: list[RequestLogRecord] = []

    def enqueue(self, record: RequestLogRecord) -> None:
        self.records.append(record)


def _in_flight(metrics: GatewayMetrics, model: str) -> float | None:
    return metrics.registry.get_sample_value("inferstack_requests_in_flight", {"model": model})


def test_the_row_is_filled_by_named_methods_and_written_once() -> None:
    metrics, sink = GatewayMetrics(), Sink()
    tracker = RequestTracker(
        metrics, sink, None, request_id="r1", endpoint="/v1/chat/completions", api_flavour="openai"
    )
    assert _in_flight(metrics, "unknown") == 1
    tracker.identify("session-1", "key:key-1", "key-1")
    tracker.model_named("*", "some/model", stream=True, end_user="u")
    assert (_in_flight(metrics, "unknown"), _in_flight(metrics, "*")) == (0, 1)
    tracker.completed(Usage(prompt_tokens=5, completion_tokens=7))
    tracker.finish(EngineOverloadedError("busy"))
    tracker.finish(None)  # the stream's generator and its caller may both end it
    (row,) = sink.records
    assert (row.id, row.session_id, row.tenant, row.api_key_id) == (
        "r1",
        "session-1",
        "key:key-1",
        "key-1",
    )
    assert (row.model, row.stream, row.end_user) == ("some/model", True, "u")
    assert (row.prompt_tokens, row.completion_tokens) == (5, 7)
    assert (row.status_code, row.error_type) == (429, "rate_limit_error")
    assert tracker.model == "*" and tracker.request_id == "r1"
    assert _in_flight(metrics, "*") == 0
    labels = {"endpoint": "/v1/chat/completions", "model": "*", "status": "429"}
    assert metrics.registry.get_sample_value("inferstack_requests_total", labels) == 1
