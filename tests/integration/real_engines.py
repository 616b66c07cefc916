"""The three real engines of the test stack, each serving SmolLM2 behind the gateway, and
what a test reads from each one's own /metrics."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from stackctl.api import NativeStack


@dataclass(frozen=True)
class RealEngine:
    kind: str
    model: str  # the gateway's model name
    service: str  # the stack service running it
    metrics_path: str
    running_metric: str  # requests the engine is decoding right now
    generated_metric: str  # tokens it generated, ever
    overflow_wording: str  # how the engine itself words a prompt over its context

    def metric(self, stack: NativeStack, name: str) -> float:
        """The sum of one metric over its label sets, from the engine's own /metrics."""
        text = httpx.get(
            stack.url(self.service) + self.metrics_path, follow_redirects=True, timeout=10
        ).text
        values = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name) and line[len(name) : len(name) + 1] in (" ", "{")
        ]
        assert values, f"{self.service} /metrics has no {name}"
        return sum(values)


ENGINES = (
    RealEngine(
        kind="llamacpp",
        model="SmolLM2-135M-Instruct",
        service="engine",
        metrics_path="/metrics",
        running_metric="llamacpp:requests_processing",
        generated_metric="llamacpp:tokens_predicted_total",
        overflow_wording="exceeds the available context size",
    ),
    RealEngine(
        kind="vllm",
        model="SmolLM2-135M-Instruct-vllm",
        service="vllm",
        metrics_path="/metrics",
        running_metric="vllm:num_requests_running",
        generated_metric="vllm:generation_tokens_total",
        overflow_wording="maximum context length is 8192 tokens",
    ),
    RealEngine(
        kind="max",
        model="SmolLM2-135M-Instruct-max",
        service="max",
        # MAX mounts its metrics app at /metrics/ (a bare /metrics is a redirect).
        metrics_path="/metrics/",
        running_metric="maxserve_num_requests_running",
        generated_metric="maxserve_num_output_tokens_total",
        overflow_wording="exceeds the configured maximum context length",
    ),
)

every_engine = pytest.mark.parametrize("engine", ENGINES, ids=[e.kind for e in ENGINES])
