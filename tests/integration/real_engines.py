"""The three real engines of the test stack, each serving SmolLM2 behind the gateway, and
what a test reads from each one's own /metrics."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from monitor.exposition import parse_exposition
from stackctl.api import NativeStack


@dataclass(frozen=True)
class RealEngine:
    kind: str
    model: str  # the gateway's model name
    service: str  # the stack service running it
    running_metric: str  # requests the engine is decoding right now
    generated_metric: str  # tokens it generated, ever
    overflow_wording: str  # how the engine itself words a prompt over its context
    # The gateway's variable naming the engine's metrics URL, when not its URL + /metrics.
    metrics_url_env: str = ""

    def metric(self, stack: NativeStack, name: str) -> float:
        """The sum of one metric over its label sets, from the engine's own metrics."""
        return sum(value for _, value in self.samples(stack, name))

    def decode_steps_batched(self, stack: NativeStack) -> float | None:
        """How many decode steps ran more than one request at once, where the engine counts
        them: MAX's batch-size histogram. (Its running gauge counts the requests its API
        holds, not what its worker batches; the other two's gauges are their batches.)"""
        if self.kind != "max":
            return None
        sizes = {
            labels["le"]: value
            for labels, value in self.samples(stack, "maxserve_batch_size_bucket")
            if labels.get("batch_type") == "TG"
        }
        return sizes["+Inf"] - sizes["1.0"] if sizes else 0.0

    def samples(self, stack: NativeStack, name: str) -> list[tuple[dict[str, str], float]]:
        """One metric's value per label set, read with the monitor's Prometheus parser. None
        at all is a metric not measured yet: MAX publishes a series only from its first
        measurement, so a MAX that has served nothing shows no running gauge, no token
        counter and no batch histogram (a test run alone saw that)."""
        if self.metrics_url_env:
            url = stack.env("gateway")[self.metrics_url_env]
        else:
            url = stack.url(self.service) + "/metrics"
        return list(parse_exposition(httpx.get(url, timeout=10).text, time=0).samples(name))


ENGINES = (
    RealEngine(
        kind="llamacpp",
        model="SmolLM2-135M-Instruct",
        service="engine",
        running_metric="llamacpp:requests_processing",
        generated_metric="llamacpp:tokens_predicted_total",
        overflow_wording="exceeds the available context size",
    ),
    RealEngine(
        kind="vllm",
        model="SmolLM2-135M-Instruct-vllm",
        service="vllm",
        running_metric="vllm:num_requests_running",
        generated_metric="vllm:generation_tokens_total",
        overflow_wording="maximum context length is 8192 tokens",
    ),
    RealEngine(
        kind="max",
        model="SmolLM2-135M-Instruct-max",
        service="max",
        running_metric="maxserve_num_requests_running",
        generated_metric="maxserve_num_output_tokens_total",
        overflow_wording="exceeds the configured maximum context length",
        metrics_url_env="MAX_METRICS_URL",
    ),
)

every_engine = pytest.mark.parametrize("engine", ENGINES, ids=[e.kind for e in ENGINES])
