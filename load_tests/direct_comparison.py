"""The gateway against its engine measured directly, step by step: the same requests on the
same schedule, once through the gateway and once straight to the engine, and the ratio
through/direct of each figure (above 1: the gateway costs that much; throughput and
goodput below 1: it delivers less). Pure: it reads the steps' figures
(`load_tests.step_figures`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from load_tests.objectives import Objectives
from load_tests.sweep import sweep_section

# name in the table and report: (the step's figure, its percentile or None for a rate)
FIGURES: dict[str, tuple[str, str | None]] = {
    "ttft_p50_ms": ("ttft_ms", "p50"),
    "ttft_p99_ms": ("ttft_ms", "p99"),
    "tpot_p50_ms": ("tpot_ms", "p50"),
    "e2e_p50_ms": ("e2e_ms", "p50"),
    "achieved_per_s": ("achieved_per_s", None),
    "output_tokens_per_s": ("output_tokens_per_s", None),
    "goodput_per_s": ("goodput_per_s", None),
}
ORDER = (
    "each step runs both targets one after the other, never at once; the first alternates "
    "(gateway first at the 1st, 3rd, ... step, the engine first at the 2nd, 4th, ...)"
)


def figure_of(step: Mapping[str, Any], name: str) -> float | None:
    key, percentile = FIGURES[name]
    value = step[key] if percentile is None else step[key][percentile]
    return None if value is None else float(value)


def ratio(through: float | None, direct: float | None) -> float | None:
    if through is None or direct is None or direct == 0:
        return None
    return round(through / direct, 3)


def compare_steps(
    gateway_steps: Sequence[Mapping[str, Any]], direct_steps: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One row per step, in the order they ran: both targets' figures and the ratios."""
    rows = []
    for through, direct in zip(gateway_steps, direct_steps, strict=True):
        gateway_figures = {name: figure_of(through, name) for name in FIGURES}
        direct_figures = {name: figure_of(direct, name) for name in FIGURES}
        rows.append(
            {
                "rate": through["rate"],
                "first": "gateway" if through.get("ran") == 1 else "direct",
                "gateway": gateway_figures,
                "direct": direct_figures,
                "ratio": {
                    name: ratio(gateway_figures[name], direct_figures[name]) for name in FIGURES
                },
            }
        )
    return rows


COLUMNS = (
    f"{'rate':>7} {'first':>7}  {'ttft p50':>17}  {'ttft p99':>17}  {'tpot p50':>17}  "
    f"{'e2e p50':>17}  {'achieved/s':>17}  {'goodput/s':>17}"
)


def format_comparison(rows: Sequence[Mapping[str, Any]], target: Mapping[str, Any]) -> list[str]:
    lines = [
        f"through the gateway vs direct to the engine ({target['kind']} at {target['url']}): "
        "gateway / direct = ratio; latencies in ms",
        ORDER,
        COLUMNS,
    ]
    for row in sorted(rows, key=lambda row: row["rate"]):
        cells = [
            _cell(row["gateway"][name], row["direct"][name], row["ratio"][name])
            for name in (
                "ttft_p50_ms", "ttft_p99_ms", "tpot_p50_ms", "e2e_p50_ms",
                "achieved_per_s", "goodput_per_s",
            )
        ]  # fmt: skip
        lines.append(f"{row['rate']:>7g} {row['first']:>7}  " + "  ".join(cells))
    return lines


def _cell(through: float | None, direct: float | None, quotient: float | None) -> str:
    text = f"{_num(through)}/{_num(direct)}={'-' if quotient is None else f'{quotient:.2f}'}"
    return f"{text:>17}"


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def direct_section(
    direct_steps: Sequence[Mapping[str, Any]],
    gateway_sweep: Mapping[str, Any],
    rates: Sequence[float] | None,
    objectives: Objectives,
    target: Mapping[str, Any],
) -> dict[str, Any]:
    """report.json's `direct`: the engine's steps as the gateway's `sweep` has them, where
    it was and how its prompts were made, the order of the runs, and the comparison."""
    return {
        **sweep_section(direct_steps, rates, objectives),
        "target": dict(target),
        "order": ORDER,
        "comparison": compare_steps(gateway_sweep["steps"], direct_steps),
    }
