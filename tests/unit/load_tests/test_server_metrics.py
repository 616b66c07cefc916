"""The gateway's own percentiles over a step, from two /metrics scrapes: bucket increases,
linear interpolation within a bucket, the load test's model and endpoint only."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from load_tests.server_metrics import server_window
from monitor.exposition import ExpositionError

BOUNDS = ("0.1", "0.25", "0.5", "1.0", "+Inf")


def exposition(
    latency: Mapping[tuple[str, str], tuple[int, ...]],
    ttft: Mapping[str, tuple[int, ...]],
    tokens: Mapping[str, int],
) -> str:
    """Cumulative bucket counts per (endpoint, model) and per model."""
    lines = ["# TYPE inferstack_request_latency_seconds histogram"]
    for (endpoint, model), counts in latency.items():
        labels = f'endpoint="{endpoint}",model="{model}"'
        lines += [
            f'inferstack_request_latency_seconds_bucket{{{labels},le="{le}"}} {n}'
            for le, n in zip(BOUNDS, counts, strict=True)
        ]
        lines.append(f"inferstack_request_latency_seconds_count{{{labels}}} {counts[-1]}")
        lines.append(f"inferstack_request_latency_seconds_sum{{{labels}}} 0")
    lines.append("# TYPE inferstack_time_to_first_token_seconds histogram")
    for model, counts in ttft.items():
        lines += [
            f'inferstack_time_to_first_token_seconds_bucket{{model="{model}",le="{le}"}} {n}'
            for le, n in zip(BOUNDS, counts, strict=True)
        ]
        lines.append(
            f'inferstack_time_to_first_token_seconds_count{{model="{model}"}} {counts[-1]}'
        )
        lines.append(f'inferstack_time_to_first_token_seconds_sum{{model="{model}"}} 0')
    lines.append("# TYPE inferstack_completion_tokens counter")
    lines += [f'inferstack_completion_tokens_total{{model="{m}"}} {n}' for m, n in tokens.items()]
    return "\n".join(lines) + "\n"


CHAT, OTHER = "/v1/chat/completions", "/v1/messages"
BEFORE = exposition(
    {(CHAT, "M"): (5, 5, 5, 5, 5), (OTHER, "M"): (0, 0, 0, 0, 0), (CHAT, "x"): (0, 0, 0, 0, 0)},
    {"M": (5, 5, 5, 5, 5), "x": (0, 0, 0, 0, 0)},
    {"M": 100, "x": 0},
)
# In the window: 10 chat requests of M, 2 in (0.1, 0.25] s, 6 in (0.25, 0.5], 2 in (0.5, 1];
# other endpoints and models must not count.
AFTER = exposition(
    {(CHAT, "M"): (5, 7, 13, 15, 15), (OTHER, "M"): (0, 0, 9, 9, 9), (CHAT, "x"): (0, 0, 0, 4, 4)},
    {"M": (5, 15, 15, 15, 15), "x": (0, 0, 0, 0, 7)},
    {"M": 160, "x": 999},
)


def test_window_percentiles_interpolate_within_the_bucket() -> None:
    figures = server_window(BEFORE, AFTER, "m")  # any case: the client may write it so
    assert figures["requests"] == 10
    # p50: rank 5 of 10, the 3rd of 6 in (0.25, 0.5] -> 0.25 + 0.25 * 3/6.
    assert figures["e2e_ms"]["p50"] == pytest.approx(375.0)
    # p99: rank 9.9, the 1.9th of 2 in (0.5, 1] -> 0.5 + 0.5 * 1.9/2.
    assert figures["e2e_ms"]["p99"] == pytest.approx(975.0)
    # TTFT: all 10 in (0.1, 0.25]; p50 = 0.1 + 0.15 * 5/10.
    assert figures["ttft_ms"]["p50"] == pytest.approx(175.0)
    assert figures["output_tokens"] == 60


def test_an_unknown_model_name_reads_every_model() -> None:
    figures = server_window(BEFORE, AFTER, "an-alias")
    assert figures["requests"] == 14  # M's 10 and x's 4, on the chat endpoint only
    assert figures["output_tokens"] == 60 + 999


def test_no_request_in_the_window_has_no_percentiles() -> None:
    figures = server_window(BEFORE, BEFORE, "M")
    assert figures["requests"] == 0 and figures["output_tokens"] == 0
    assert figures["e2e_ms"] == {"p50": None, "p99": None}


def test_a_gateway_restart_counts_from_zero() -> None:
    restarted = exposition({(CHAT, "M"): (0, 1, 2, 2, 2)}, {"M": (0, 2, 2, 2, 2)}, {"M": 8})
    figures = server_window(AFTER, restarted, "M")
    assert figures["requests"] == 2 and figures["output_tokens"] == 8


def test_text_that_is_not_prometheus_is_refused() -> None:
    with pytest.raises(ExpositionError):
        server_window("<html>", AFTER, "M")


def test_a_host_without_gateway_metrics_says_so() -> None:
    engine = "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 0\n"
    window = server_window(engine, engine, "m")
    assert "not an inferstack gateway" in window["error"]
