"""The dashboard's Prometheus arithmetic (`static/metrics.js`), run in Node, table-driven.
Skipped where Node is absent; the headless-browser test covers the page end to end."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from importlib.resources import as_file, files
from typing import Any

import pytest

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="no node on PATH to run the dashboard's JS")

EXPOSITION = """\
# HELP inferstack_requests_total Requests served
# TYPE inferstack_requests_total counter
inferstack_requests_total{endpoint="chat",model="a",status="200"} 90.0
inferstack_requests_total{endpoint="chat",model="a",status="502"} 10.0
inferstack_requests_total{endpoint="chat",model="b \\"q\\"",status="200"} 5.0
# TYPE inferstack_request_latency_seconds histogram
inferstack_request_latency_seconds_bucket{endpoint="chat",le="0.1",model="a"} 50.0
inferstack_request_latency_seconds_bucket{endpoint="chat",le="0.5",model="a"} 90.0
inferstack_request_latency_seconds_bucket{endpoint="chat",le="+Inf",model="a"} 100.0
inferstack_request_latency_seconds_count{endpoint="chat",model="a"} 100.0
# TYPE inferstack_cache_requests_total counter
"""


def run_js(body: str) -> Any:
    """Evaluate `body` (an expression using `M`, the metrics module) in Node; its JSON."""
    assert NODE is not None
    with as_file(files("api_server.dashboard").joinpath("static", "metrics.js")) as path:
        script = f"const M = require({json.dumps(str(path))}); console.log(JSON.stringify({body}));"
        out = subprocess.run([NODE, "-e", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_parses_the_exposition_format() -> None:
    samples = run_js(f"M.parsePrometheus({json.dumps(EXPOSITION)})")
    assert samples[0] == {
        "name": "inferstack_requests_total",
        "labels": {"endpoint": "chat", "model": "a", "status": "200"},
        "value": 90,
    }
    assert samples[2]["labels"]["model"] == 'b "q"'
    assert samples[5]["labels"]["le"] == "+Inf"
    assert len(samples) == 7


def test_declared_metrics_include_those_without_series() -> None:
    declared = run_js(f"[...M.declaredMetrics({json.dumps(EXPOSITION)})]")
    assert "inferstack_cache_requests_total" in declared


@pytest.mark.parametrize(
    ("before", "after", "increase"),
    [(None, 5, 5), (3, 5, 2), (5, 5, 0), (10, 4, 4)],  # new series; growth; none; restart
)
def test_counter_increase(before: float | None, after: float, increase: float) -> None:
    before_js = "undefined" if before is None else before
    assert run_js(f"M.counterIncrease({before_js}, {after})") == increase


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        (0.5, [(0.1, 50), (0.5, 90), ("Inf", 100)], 0.1),
        (0.7, [(0.1, 50), (0.5, 90), ("Inf", 100)], 0.3),  # halfway into (0.1, 0.5]
        (0.25, [(0.1, 50), (0.5, 90), ("Inf", 100)], 0.05),  # first bucket starts at 0
        (0.99, [(0.1, 50), (0.5, 90), ("Inf", 100)], 0.5),  # in +Inf: highest finite bound
        (0.5, [(0.1, 0), (0.5, 0), ("Inf", 0)], None),  # no observations
        (0.5, [(0.1, 3)], None),  # no +Inf bucket
    ],
)
def test_histogram_quantile_matches_promql(
    q: float, buckets: list[tuple[float | str, int]], expected: float | None
) -> None:
    js_buckets = ", ".join(
        f"{{le: {'Infinity' if le == 'Inf' else le}, count: {count}}}" for le, count in buckets
    )
    got = run_js(f"M.histogramQuantile({q}, [{js_buckets}])")
    assert got == expected or math.isclose(got, expected or 0.0)


def test_figures_over_a_window() -> None:
    later = EXPOSITION.replace(
        "} 90.0\ninferstack_requests_total", "} 170.0\ninferstack_requests_total"
    )
    later = later.replace('status="502"} 10.0', 'status="502"} 30.0')
    later = later.replace('le="0.1",model="a"} 50.0', 'le="0.1",model="a"} 60.0')
    later = later.replace('le="0.5",model="a"} 90.0', 'le="0.5",model="a"} 100.0')
    later = later.replace('le="+Inf",model="a"} 100.0', 'le="+Inf",model="a"} 200.0')
    snap = "(t, text) => ({t, samples: M.parsePrometheus(text), declared: M.declaredMetrics(text)})"
    figures = run_js(
        f"(() => {{ const s = {snap};"
        f"return M.gatewayFigures(s(0, {json.dumps(EXPOSITION)}), s(10, {json.dumps(later)}),"
        f" {{model: 'a'}}); }})()"
    )
    assert figures["rps"] == 10  # 100 more requests in 10 s
    assert figures["errorsPerS"] == 2
    assert figures["errorRatio"] == 0.2
    # 100 new observations: 10 ≤ 0.1 s, 10 in (0.1, 0.5], 80 above: P50 is past 0.5
    assert figures["p50"] == 0.5
    assert figures["p99"] == 0.5
    assert figures["ttftP50"] is None  # no TTFT series at all
    assert figures["cache"] == "idle" and figures["cacheHitRatio"] is None
    assert figures["queue"] == "absent" and figures["queueDepth"] is None
    assert figures["waiting"] is None and figures["waitP95"] is None  # no admission queue


def test_the_admission_queue_figures() -> None:
    queue = """\
# TYPE inferstack_queue_depth gauge
inferstack_queue_depth{model="a",priority="high"} 0.0
inferstack_queue_depth{model="a",priority="normal"} 3.0
inferstack_queue_depth{model="a",priority="low"} 2.0
# TYPE inferstack_queue_wait_seconds histogram
inferstack_queue_wait_seconds_bucket{le="1.0",model="a",priority="normal"} 0.0
inferstack_queue_wait_seconds_bucket{le="2.5",model="a",priority="normal"} 0.0
inferstack_queue_wait_seconds_bucket{le="+Inf",model="a",priority="normal"} 0.0
"""
    later = queue.replace(
        'le="1.0",model="a",priority="normal"} 0.0', 'le="1.0",model="a",priority="normal"} 10.0'
    )
    later = later.replace(
        'le="2.5",model="a",priority="normal"} 0.0', 'le="2.5",model="a",priority="normal"} 20.0'
    )
    later = later.replace(
        'le="+Inf",model="a",priority="normal"} 0.0', 'le="+Inf",model="a",priority="normal"} 20.0'
    )
    snap = "(t, text) => ({t, samples: M.parsePrometheus(text), declared: M.declaredMetrics(text)})"
    figures = run_js(
        f"(() => {{ const s = {snap};"
        f"return M.gatewayFigures(s(0, {json.dumps(queue)}), s(10, {json.dumps(later)}),"
        f" {{model: 'a'}}); }})()"
    )
    assert figures["waiting"] == 5  # every class together
    assert figures["waitP95"] == pytest.approx(1 + 1.5 * (19 - 10) / 10)


def test_baseline_is_the_newest_snapshot_a_window_old() -> None:
    history = "[{t: 0}, {t: 2}, {t: 4}, {t: 6}]"
    assert run_js(f"M.baseline({history}, 6, 3)") == {"t": 2}
    assert run_js(f"M.baseline({history}, 6, 60)") == {"t": 0}  # just started: the oldest
