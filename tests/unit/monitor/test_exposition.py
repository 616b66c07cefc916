from __future__ import annotations

import pytest

from monitor.exposition import ExpositionError, parse_exposition
from tests.unit.monitor.gateway_texts import gateway_text

TEXT = """\
# TYPE inferstack_requests counter
inferstack_requests_total{endpoint="/v1/chat/completions",model="m",status="200"} 3.0
# TYPE inferstack_request_latency_seconds histogram
inferstack_request_latency_seconds_bucket{endpoint="/v1/chat/completions",model="m",le="0.1"} 2.0
inferstack_request_latency_seconds_bucket{endpoint="/v1/chat/completions",model="m",le="+Inf"} 3.0
inferstack_request_latency_seconds_count{endpoint="/v1/chat/completions",model="m"} 3.0
odd_gauge NaN
"""


def test_samples_are_keyed_by_full_name_and_labels() -> None:
    snapshot = parse_exposition(TEXT, time=12.5)
    assert snapshot.time == 12.5
    assert list(snapshot.samples("inferstack_requests_total")) == [
        ({"endpoint": "/v1/chat/completions", "model": "m", "status": "200"}, 3.0)
    ]
    buckets = sorted(
        lb["le"] for lb, _ in snapshot.samples("inferstack_request_latency_seconds_bucket")
    )
    assert buckets == ["+Inf", "0.1"]
    assert snapshot.has("inferstack_request_latency_seconds_count")


def test_nan_samples_are_dropped() -> None:
    assert not parse_exposition(TEXT, 0).has("odd_gauge")


def test_empty_text_is_an_empty_snapshot() -> None:
    assert parse_exposition("", 0).series == {}


def test_real_prometheus_client_output_parses() -> None:
    snapshot = parse_exposition(gateway_text(traffic=True), 0)
    assert snapshot.has("inferstack_engine_queue_depth")
    assert snapshot.has("inferstack_cache_requests_total")


@pytest.mark.parametrize("text", ["this is not prometheus", 'x{a="1" 2'])
def test_garbage_raises_exposition_error(text: str) -> None:
    with pytest.raises(ExpositionError):
        parse_exposition(text, 0)
