"""`sweep.html`: an open-loop run's report as one self-contained page (inline SVG, no script,
no CDN), written beside `report.json` from its `sweep` section.

What it shows, read at a glance: latency and time to first token against the offered rate
with the objectives drawn; throughput and goodput against the offered rate with the ideal
(every request served) and the knee; the TTFT and end-to-end CDFs of each rate; a timeline
of every sampled request's latency over the run; then the table of figures and the
metric definitions. Pure: the report's dict in, HTML out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from load_tests.charts import Chart, Point, Rule, Series, cdf_points, render_svg

STYLE = """
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1340px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.charts svg { border: 1px solid #ddd; background: #fff; }
table { border-collapse: collapse; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
th { background: #f3f3f3; } td.met { background: #e6f4ea; } td.missed { background: #fce8e6; }
dl { font-size: 13px; } dt { font-weight: bold; margin-top: 6px; }
.verdict { font-size: 15px; }
"""

Step = Mapping[str, Any]


def render_sweep_html(report: Mapping[str, Any]) -> str:
    sweep = report["sweep"]
    steps: Sequence[Step] = sorted(sweep["steps"], key=lambda step: step["rate"])
    objectives = {k: v for k, v in sweep["objectives"].items() if k != "min_attainment"}
    config = report.get("config", {})
    title = f"Load test sweep: {config.get('model', '')} at {config.get('host', '')}"
    charts = [
        latency_chart(steps, objectives, sweep.get("max_goodput_rate")),
        throughput_chart(steps, sweep.get("max_goodput_rate"), sweep.get("saturation")),
        cdf_chart(steps, "ttft_ms", "Time to first token, CDF per rate"),
        cdf_chart(steps, "e2e_ms", "End-to-end latency, CDF per rate"),
        timeline_chart(sweep["steps"]),
    ]
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
            f"<h1>{escape(title)}</h1>",
            _verdict(sweep),
            '<div class="charts">',
            *(render_svg(chart) for chart in charts),
            "</div>",
            "<h2>Each rate</h2>",
            _table(steps),
            "<h2>Definitions</h2>",
            _definitions(sweep.get("definitions", {}), objectives, config),
            "</body></html>",
        ]
    )


def latency_chart(
    steps: Sequence[Step], objectives: Mapping[str, float], knee: float | None
) -> Chart:
    def series(metric: str, percentile: str, name: str) -> Series:
        return Series(name, _by_rate(steps, lambda s: _seconds(s[metric].get(percentile))))

    rules = [
        Rule("y", objectives[key] / 1000, f"{label} objective")
        for key, label in (("e2e_ms", "end-to-end"), ("ttft_ms", "TTFT"))
        if key in objectives
    ]
    if knee is not None:
        rules.append(Rule("x", knee, "max goodput"))
    return Chart(
        "Latency vs offered rate",
        "offered requests/s",
        "seconds",
        [
            series("e2e_ms", "p50", "end-to-end p50"),
            series("e2e_ms", "p99", "end-to-end p99"),
            series("ttft_ms", "p50", "TTFT p50"),
            series("ttft_ms", "p99", "TTFT p99"),
        ],
        rules,
    )


def throughput_chart(
    steps: Sequence[Step], knee: float | None, saturation: Mapping[str, Any] | None
) -> Chart:
    rules = []
    if knee is not None:
        rules.append(Rule("x", knee, "max goodput"))
    if saturation is not None:
        rules.append(Rule("x", saturation["rate"], "saturation"))
    return Chart(
        "Throughput vs offered rate",
        "offered requests/s",
        "requests/s",
        [
            Series("achieved", _by_rate(steps, lambda s: s["achieved_per_s"])),
            Series("goodput", _by_rate(steps, lambda s: s["goodput_per_s"])),
            Series("ideal (all served)", _by_rate(steps, lambda s: s["rate"])),
        ],
        rules,
    )


def cdf_chart(steps: Sequence[Step], field: str, title: str) -> Chart:
    series = []
    for step in steps:
        values = [value / 1000 for value in _sample_column(step, field) if value is not None]
        series.append(Series(f"{step['rate']:g}/s", cdf_points(values), "steps"))
    return Chart(title, "seconds", "fraction of requests", series)


def timeline_chart(steps_in_run_order: Sequence[Step]) -> Chart:
    """Every sampled request's end-to-end latency at its send time, the steps laid end to
    end in the order they ran (a sweep's auto steps bisect, so not by rate)."""
    placed: list[tuple[float, Series]] = []
    start = 0.0
    for step in steps_in_run_order:
        window = step["window_s"]
        sent = _sample_column(step, "sent_s")
        e2e = _sample_column(step, "e2e_ms")
        runs = _sample_column(step, "repeat") or [0] * len(sent)  # each repeat its window
        points: list[Point] = [
            (start + run * window + s, e / 1000)
            for s, e, run in zip(sent, e2e, runs, strict=True)
            if e is not None
        ]
        placed.append((step["rate"], Series(f"{step['rate']:g}/s", points, "dots")))
        start += window * step.get("repeats", 1)
    # Listed by rate, as in the other charts, so that each rate keeps its colour.
    series = [one for _, one in sorted(placed, key=lambda pair: pair[0])]
    return Chart("Timeline: latency of each request", "run seconds", "end-to-end s", series)


def _by_rate(steps: Sequence[Step], value: Any) -> list[Point]:
    return [(step["rate"], y) for step in steps if (y := value(step)) is not None]


def _sample_column(step: Step, field: str) -> list[Any]:
    samples = step.get("samples") or {}
    fields = samples.get("fields", [])
    if field not in fields:
        return []
    column = fields.index(field)
    return [row[column] for row in samples.get("rows", [])]


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000


def _verdict(sweep: Mapping[str, Any]) -> str:
    best = sweep.get("max_goodput_rate")
    saturation = sweep.get("saturation")
    parts = [
        f"Highest rate meeting the objectives: <b>{best:g} requests/s</b>."
        if best is not None
        else "<b>No rate met the objectives.</b>"
    ]
    if saturation is not None:
        parts.append(
            f"Saturation starts at {saturation['rate']:g} requests/s "
            f"({escape(str(saturation['why']))})."
        )
    return f'<p class="verdict">{" ".join(parts)}</p>'


COLUMNS: tuple[tuple[str, str, str | None], ...] = (
    ("offered/s", "offered_per_s", None),
    ("achieved/s", "achieved_per_s", None),
    ("goodput/s", "goodput_per_s", None),
    ("out tok/s", "output_tokens_per_s", None),
    ("E2E p50 ms", "e2e_ms", "p50"),
    ("E2E p99 ms", "e2e_ms", "p99"),
    ("TTFT p50 ms", "ttft_ms", "p50"),
    ("TTFT p99 ms", "ttft_ms", "p99"),
    ("TPOT p50 ms", "tpot_ms", "p50"),
    ("ITL p99 ms", "itl_ms", "p99"),
    ("errors", "failures", None),
    ("timeouts", "timeouts", None),
    ("late send p99 ms", "send_lateness_ms", "p99"),
    ("client CPU %", "client_cpu_percent", None),
)


def _table(steps: Sequence[Step]) -> str:
    head = "".join(f"<th>{escape(name)}</th>" for name, _, _ in COLUMNS)
    rows = []
    for step in steps:
        cells = [f"<td>{_cell(step, key, sub)}</td>" for _, key, sub in COLUMNS]
        spread = step.get("spread") or {}
        cells.append(f"<td>{_range(spread.get('goodput_per_s'))}</td>")
        cells.append(f"<td>{_range(spread.get('e2e_ms.p50'))}</td>")
        attained = step.get("attainment", {}).get("all")
        verdict = "met" if step.get("met_objectives") else "missed"
        shown = "" if attained is None else f"{attained * 100:.1f} %"
        rows.append(
            f'<tr><td>{step["rate"]:g}</td>{"".join(cells)}<td class="{verdict}">{shown}</td></tr>'
        )
    return f"<table><tr><th>rate/s</th>{head}<th>met all</th></tr>{''.join(rows)}</table>"


def _range(bounds: Sequence[float | None] | None) -> str:
    """A repeated step's min-max; '-' for a step run once."""
    if not bounds or bounds[0] is None or bounds[1] is None:
        return "-"
    return escape(f"{bounds[0]:g} to {bounds[1]:g}")


def _cell(step: Step, key: str, sub: str | None) -> str:
    value = step.get(key)
    if sub is not None:
        value = value.get(sub) if isinstance(value, Mapping) else None
    if value is None:
        return "-"
    return escape(f"{value:g}" if isinstance(value, float) else str(value))


def _definitions(
    definitions: Mapping[str, str], objectives: Mapping[str, float], config: Mapping[str, Any]
) -> str:
    items = [
        f"<dt>{escape(name)}</dt><dd>{escape(text)}</dd>" for name, text in definitions.items()
    ]
    if objectives:
        shown = ", ".join(f"{name} ≤ {limit:g}" for name, limit in objectives.items())
        items.append(f"<dt>objectives</dt><dd>{escape(shown)}</dd>")
    arrivals = config.get("arrivals")
    if arrivals:
        items.append(f"<dt>arrivals</dt><dd>{escape(str(arrivals))}</dd>")
    return f"<dl>{''.join(items)}</dl>"
