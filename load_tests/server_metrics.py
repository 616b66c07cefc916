"""What the gateway itself measured over an open-loop step, from two scrapes of its
`/metrics` (as the step's window opens, and once its last answer is in), to set beside what
the client measured: a gap between the two is time spent outside the gateway (network,
client) or a clock one of them gets wrong.

- requests and E2E: `inferstack_request_latency_seconds` of `/v1/chat/completions` (the
  gateway's request received → last byte sent);
- TTFT: `inferstack_time_to_first_token_seconds` (the gateway's engine request → first
  generated text: it leaves out the gateway's own work before the engine call);
- output tokens: the increase of `inferstack_completion_tokens_total`.

Percentiles come from the increase of the histograms' cumulative buckets between the two
scrapes, interpolated linearly within the bucket that holds them (Prometheus's
`histogram_quantile`, `monitor.promql`): they are only as fine as the buckets (0.25, 0.5,
0.75, 1, 1.5, 2.5, 5 s, ...). The window is the scrapes': answers of the warm-up that end
after the window opens count too. Series of the load test's model are read (its name as
the gateway reports it, any case); when none is (an alias was asked for), every model's.
Pure: the scrapes' text in, figures out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.exposition import Snapshot, parse_exposition
from monitor.promql import Group, bucket_increase, histogram_quantile, increase

LATENCY = "inferstack_request_latency_seconds"
TTFT = "inferstack_time_to_first_token_seconds"
COMPLETION_TOKENS = "inferstack_completion_tokens_total"
CHAT_ENDPOINT = "/v1/chat/completions"
METHOD = (
    "the gateway's histograms over the step (scraped as its window opens and after its last "
    "answer), percentiles interpolated linearly within a bucket as Prometheus's "
    "histogram_quantile does"
)


def server_window(old_text: str, new_text: str, model: str) -> dict[str, Any]:
    """The gateway's own figures between two `/metrics` bodies; an `error` where the host
    has no gateway metrics (an engine run at directly). Raises
    `monitor.exposition.ExpositionError` on text that is not Prometheus's."""
    old, new = parse_exposition(old_text, 0.0), parse_exposition(new_text, 1.0)
    if next(new.samples(f"{LATENCY}_count"), None) is None:
        return {"error": f"no {LATENCY} at this host: not an inferstack gateway"}
    latency = _buckets(old, new, LATENCY, ("endpoint", "model"), model, endpoint=CHAT_ENDPOINT)
    ttft = _buckets(old, new, TTFT, ("model",), model)
    tokens = increase(old, new, COMPLETION_TOKENS, ("model",))
    chosen = [key for key in tokens if key[0].casefold() == model.casefold()] or list(tokens)
    return {
        "requests": round(latency[-1][1]) if latency else 0,
        "e2e_ms": _percentiles(latency),
        "ttft_ms": _percentiles(ttft),
        "output_tokens": round(sum(tokens[key] for key in chosen)),
    }


def _buckets(
    old: Snapshot,
    new: Snapshot,
    histogram: str,
    by: tuple[str, ...],
    model: str,
    endpoint: str | None = None,
) -> list[tuple[float, float]]:
    """The histogram's bucket increases for `model` (or every model, when none is its),
    summed per bound; on `endpoint` when given (the first label of `by`)."""
    groups = bucket_increase(old, new, histogram, by)
    if endpoint is not None:
        groups = {key: buckets for key, buckets in groups.items() if key[0] == endpoint}
    mine = {
        key: buckets
        for key, buckets in groups.items()
        if _model(key).casefold() == model.casefold()
    }
    summed: dict[float, float] = {}
    for buckets in (mine or groups).values():
        for bound, count in buckets:
            summed[bound] = summed.get(bound, 0.0) + count
    return sorted(summed.items())


def _model(key: Group) -> str:
    return key[-1]


def _percentiles(buckets: Sequence[tuple[float, float]]) -> dict[str, float | None]:
    result: dict[str, float | None] = {}
    for name, q in (("p50", 0.5), ("p99", 0.99)):
        seconds = histogram_quantile(q, buckets)
        result[name] = None if seconds is None else round(seconds * 1000, 1)
    return result
