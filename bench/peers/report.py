"""From measured rows to the side-by-side comparison and its table: pure functions.

A row is ``bench.overhead.make_row``'s dict plus ``path`` and ``gateway`` (a gateway's name,
or ``direct-<gateway>`` for the fake that gateway relays to).
"""

from __future__ import annotations

from typing import Any

from bench.peers.paths import INFERSTACK, LITELLM

# (row key, column title, format); the ratio of each is LiteLLM / inferstack.
METRICS = [
    ("req_per_s", "req/s", "{:.0f}"),
    ("server_cpu_ms_per_req", "cpu ms/req", "{:.3f}"),
    ("added_p50_ms", "+p50 ms", "{:.2f}"),
    ("added_p99_ms", "+p99 ms", "{:.2f}"),
    ("server_rss_mb", "rss MB", "{:.0f}"),
]


def ratio(litellm: float | None, inferstack: float | None) -> float | None:
    """LiteLLM / inferstack; None when either is missing or inferstack's is not positive."""
    if litellm is None or inferstack is None or inferstack <= 0:
        return None
    return round(litellm / inferstack, 2)


def add_latency_over_direct(row: dict[str, Any], direct: dict[str, Any]) -> None:
    """The latency the gateway added: its row minus the direct row to its own fake."""
    for key in ("p50", "p99"):
        if row[f"{key}_ms"] is not None and direct[f"{key}_ms"] is not None:
            row[f"added_{key}_ms"] = round(row[f"{key}_ms"] - direct[f"{key}_ms"], 3)


def compare(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per path and concurrency that both gateways ran: each metric for both and
    the ratio LiteLLM / inferstack."""
    by_key = {(r["path"], r["concurrency"], r["gateway"]): r for r in rows}
    pairs = dict.fromkeys((r["path"], r["concurrency"]) for r in rows)
    comparisons = []
    for path, concurrency in pairs:
        ours, theirs = (
            by_key.get((path, concurrency, INFERSTACK)),
            by_key.get((path, concurrency, LITELLM)),
        )
        if ours is None or theirs is None:
            continue
        entry: dict[str, Any] = {"path": path, "concurrency": concurrency}
        for key, _, _ in METRICS:
            entry[key] = {
                INFERSTACK: ours[key],
                LITELLM: theirs[key],
                "ratio": ratio(theirs[key], ours[key]),
            }
        entry["errors"] = {INFERSTACK: ours["errors"], LITELLM: theirs["errors"]}
        comparisons.append(entry)
    return comparisons


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def _ratio_cell(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}x" if value >= 1 else f"{value:.2f}x"


def format_table(comparisons: list[dict[str, Any]]) -> str:
    """Per path and concurrency: inferstack, LiteLLM and LiteLLM/inferstack for each metric."""
    head = ["path", "conc"]
    for _, title, _ in METRICS:
        head += [f"{title} inferstack", "litellm", "ratio"]
    head.append("errors")
    lines = [head]
    for entry in comparisons:
        cells = [entry["path"], str(entry["concurrency"])]
        for key, _, fmt in METRICS:
            figures = entry[key]
            cells += [
                _cell(figures[INFERSTACK], fmt),
                _cell(figures[LITELLM], fmt),
                _ratio_cell(figures["ratio"]),
            ]
        errors = entry["errors"]
        cells.append(f"{errors[INFERSTACK]}/{errors[LITELLM]}")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join(
        "  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True))
        for line in lines
    )
