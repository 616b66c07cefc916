"""The through/direct table from two targets' step figures."""

from __future__ import annotations

from typing import Any

from load_tests.direct_comparison import compare_steps, format_comparison


def step(rate: float, ran: int, e2e: float, ttft: float | None, achieved: float) -> dict[str, Any]:
    return {
        "rate": rate, "ran": ran, "achieved_per_s": achieved, "output_tokens_per_s": 10 * achieved,
        "goodput_per_s": achieved, "e2e_ms": {"p50": e2e}, "tpot_ms": {"p50": None},
        "ttft_ms": {"p50": ttft, "p99": None if ttft is None else 2 * ttft},
    }  # fmt: skip


def test_ratios_are_through_over_direct_and_missing_figures_have_none() -> None:
    gateway = [step(1, 1, 120, 30, 1.0), step(2, 2, 300, None, 1.5)]
    direct = [step(1, 2, 100, 20, 1.0), step(2, 1, 150, 25, 2.0)]
    first, second = compare_steps(gateway, direct)
    assert first["first"] == "gateway" and second["first"] == "direct"
    assert first["ratio"]["e2e_p50_ms"] == 1.2 and first["ratio"]["ttft_p99_ms"] == 1.5
    assert first["ratio"]["tpot_p50_ms"] is None  # neither streamed 2+ tokens
    assert second["ratio"]["ttft_p50_ms"] is None  # the gateway's is missing
    assert second["ratio"]["achieved_per_s"] == 0.75  # it delivered less
    lines = format_comparison([second, first], {"kind": "vllm", "url": "http://e:8000"})
    assert lines[0].startswith("through the gateway vs direct to the engine (vllm at http://e")
    assert lines[3].split()[:2] == ["1", "gateway"] and "120/100=1.20" in lines[3]
    assert "300/150=2.00" in lines[4] and "-/25=-" in lines[4]
