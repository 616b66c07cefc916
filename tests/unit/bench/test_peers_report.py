"""bench.peers.report: ratios, the comparison and its table (pure, offline)."""

from __future__ import annotations

from typing import Any

from bench.peers.report import add_latency_over_direct, compare, format_table, ratio


def row(
    gateway: str, path: str = "relay_json", concurrency: int = 1, **figures: Any
) -> dict[str, Any]:
    base = {
        "path": path,
        "concurrency": concurrency,
        "gateway": gateway,
        "errors": 0,
        "req_per_s": 100.0,
        "p50_ms": 1.0,
        "p99_ms": 2.0,
        "added_p50_ms": None,
        "added_p99_ms": None,
        "server_cpu_ms_per_req": 1.0,
        "server_rss_mb": 100.0,
    }
    return {**base, **figures}


def test_ratio_is_litellm_over_inferstack_and_none_when_undefined() -> None:
    assert ratio(30.0, 1.0) == 30.0
    assert ratio(1.0, 3.0) == 0.33
    assert ratio(None, 1.0) is None
    assert ratio(1.0, None) is None
    assert ratio(1.0, 0.0) is None
    assert ratio(1.0, -0.5) is None  # added latency below noise: no meaningful ratio


def test_added_latency_is_the_row_minus_its_direct_row() -> None:
    through = row("inferstack", p50_ms=1.5, p99_ms=4.25)
    add_latency_over_direct(through, row("direct-upstream", p50_ms=0.5, p99_ms=1.0))
    assert (through["added_p50_ms"], through["added_p99_ms"]) == (1.0, 3.25)


def test_compare_pairs_the_gateways_per_path_and_concurrency() -> None:
    rows = [
        row("direct-upstream"),
        row("inferstack", req_per_s=600.0, server_cpu_ms_per_req=0.5, added_p50_ms=0.4),
        row("litellm", req_per_s=60.0, server_cpu_ms_per_req=15.0, added_p50_ms=12.0, errors=2),
        row("inferstack", concurrency=64),  # LiteLLM's row missing: no comparison
    ]
    [entry] = compare(rows)
    assert (entry["path"], entry["concurrency"]) == ("relay_json", 1)
    assert entry["server_cpu_ms_per_req"] == {"inferstack": 0.5, "litellm": 15.0, "ratio": 30.0}
    assert entry["req_per_s"]["ratio"] == 0.1
    assert entry["added_p50_ms"]["ratio"] == 30.0
    assert entry["added_p99_ms"]["ratio"] is None
    assert entry["errors"] == {"inferstack": 0, "litellm": 2}


def test_table_has_a_line_per_comparison_with_ratios() -> None:
    rows = [
        row("inferstack", server_cpu_ms_per_req=0.5),
        row("litellm", server_cpu_ms_per_req=15.0, req_per_s=10.0),
    ]
    header, line = format_table(compare(rows)).splitlines()
    assert header.split()[:4] == ["path", "conc", "req/s", "inferstack"]
    cells = line.split()
    assert cells[:2] == ["relay_json", "1"]
    assert cells[2:5] == ["100", "10", "0.10x"]
    assert cells[5:8] == ["0.500", "15.000", "30.0x"]
    assert cells[-1] == "0/0"
