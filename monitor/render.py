"""Rich renderables for a frame, the trend sparklines and the gateway-unreachable message."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from monitor.figures import EngineFigures, Frame, QueueFigures
from monitor.health import Check
from monitor.sparkline import sparkline

NONE = "—"
STATUS_STYLE = {"up": "green", "ready": "green", "down": "red", "not_ready": "red"}


@dataclass(frozen=True)
class TrendPoint:
    """The overall figures one refresh adds to the sparklines."""

    requests_per_s: float
    latency_p95: float | None
    output_tokens_per_s: float


def fmt_rate(value: float | None) -> str:
    if value is None:
        return NONE
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 1000 else f"{value:.0f}"


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return NONE
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def fmt_ratio(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.1f} %"


def fmt_count(value: float | None) -> str:
    return NONE if value is None else f"{value:g}"


def styled_status(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, "yellow"))


def header(url: str, frame: Frame | None, clock: str) -> Text:
    line = Text.assemble(("inferstack monitor", "bold"), f"  {url}  ")
    if frame is not None:
        if frame.readiness is not None:
            line.append_text(styled_status(frame.readiness.status))
        elif frame.health_error:
            line.append("health unavailable", style="yellow")
        line.append(f"  window {frame.window_s:.0f}s")
    line.append(f"  {clock}")
    return line


def trends_panel(points: Sequence[TrendPoint], width: int) -> Panel:
    rows: list[tuple[str, list[float | None], Callable[[float | None], str]]] = [
        ("req/s", [p.requests_per_s for p in points], fmt_rate),
        ("P95 latency", [p.latency_p95 for p in points], fmt_seconds),
        ("output tok/s", [p.output_tokens_per_s for p in points], fmt_rate),
    ]
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(style="cyan", no_wrap=True)
    table.add_column(justify="right")
    table.add_column(justify="right", style="dim")
    for label, values, fmt in rows:
        present = [v for v in values if v is not None]
        table.add_row(
            label,
            sparkline(values, width),
            fmt(values[-1] if values else None),
            f"max {fmt(max(present))}" if present else "",
        )
    return Panel(table, title="trends (overall)", title_align="left")


def _table(title: str) -> Table:
    return Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD,
                 pad_edge=False, collapse_padding=True)  # fmt: skip


def models_table(frame: Frame) -> Table:
    cache_title = "cache hit ratio" if frame.has_cache else "cache: no cache metric"
    table = _table(f"models (latency, time to first token; {cache_title})")
    table.add_column("model", no_wrap=True, overflow="ellipsis", max_width=28)
    columns = ["req/s", "errors", "P50", "P95", "P99", "TTFT50", "TTFT95", "tok/s", "in-fl",
               "waiting", "wait95", "queued", *(["cache"] if frame.has_cache else [])]  # fmt: skip
    for name in columns:
        table.add_column(name, justify="right", no_wrap=True)
    rows = [*frame.models.items(), ("all", frame.total)]
    for index, (name, f) in enumerate(rows):
        table.add_row(
            name,
            fmt_rate(f.requests_per_s),
            Text(fmt_ratio(f.error_ratio), style="red" if f.error_ratio else ""),
            fmt_seconds(f.latency_p50),
            fmt_seconds(f.latency_p95),
            fmt_seconds(f.latency_p99),
            fmt_seconds(f.ttft_p50),
            fmt_seconds(f.ttft_p95),
            fmt_rate(f.output_tokens_per_s),
            fmt_count(f.in_flight),
            fmt_count(f.waiting),
            fmt_seconds(f.wait_p95),
            fmt_count(f.queued),
            *([fmt_ratio(f.cache_hit_ratio)] if frame.has_cache else []),
            style="bold" if index == len(rows) - 1 else None,
            end_section=index == len(rows) - 2,
        )
    return table


def _engine_status(engine: EngineFigures) -> Text:
    if engine.health is not None:
        return styled_status(engine.health.status)
    if engine.up is not None:
        return styled_status("up" if engine.up else "down")
    return Text(NONE)


def _latency_ms(check: Check | None) -> str:
    return NONE if check is None or check.latency_ms is None else f"{check.latency_ms:.1f} ms"


_BREAKER_STYLES = {"closed": "dim", "half_open": "yellow", "open": "bold red"}


def _breaker(check: Check | None) -> Text:
    if check is None or check.breaker is None:
        return Text(NONE)
    return Text(check.breaker.replace("_", "-"), style=_BREAKER_STYLES.get(check.breaker, ""))


def engines_table(frame: Frame) -> Table:
    table = _table("engines (health check, engine_up gauge)")
    table.add_column("model", no_wrap=True)
    table.add_column("engine", overflow="fold")
    table.add_column("health")
    table.add_column("breaker")
    table.add_column("check")
    table.add_column("up", justify="right")
    table.add_column("in-fl", justify="right")
    table.add_column("queued", justify="right")
    table.add_column("err/s", justify="right")
    for e in frame.engines:
        table.add_row(
            e.model,
            e.engine,
            _engine_status(e),
            _breaker(e.health),
            _latency_ms(e.health),
            NONE if e.up is None else ("1" if e.up else Text("0", style="red")),
            fmt_count(e.in_flight),
            fmt_count(e.queued),
            Text(fmt_rate(e.errors_per_s), style="red" if e.errors_per_s else ""),
        )
    return table


def queues_table(queues: list[QueueFigures]) -> Table:
    table = _table("admission queues (per priority class)")
    table.add_column("model", no_wrap=True, overflow="ellipsis", max_width=28)
    table.add_column("class")
    for name in ("waiting", "in/s", "wait50", "wait95", "refused/s"):
        table.add_column(name, justify="right", no_wrap=True)
    for q in queues:
        table.add_row(
            q.model,
            q.priority,
            fmt_count(q.waiting),
            fmt_rate(q.admitted_per_s),
            fmt_seconds(q.wait_p50),
            fmt_seconds(q.wait_p95),
            Text(fmt_rate(q.refused_per_s), style="red" if q.refused_per_s else ""),
        )
    return table


def components_line(frame: Frame) -> Text:
    """The backing services of /health/ready on one line."""
    line = Text("components  ", style="bold")
    if frame.readiness is None:
        line.append(f"health unavailable ({frame.health_error})", style="yellow")
        return line
    for name, check in sorted(frame.readiness.components.items()):
        line.append(f"{name} ")
        line.append_text(styled_status(check.status))
        if check.latency_ms is not None:
            line.append(f" {check.latency_ms:.1f} ms", style="dim")
        if check.detail:
            line.append(f" ({check.detail})", style="dim")
        line.append("   ")
    return line


def dashboard(
    url: str, frame: Frame, trends: Sequence[TrendPoint], clock: str, spark_width: int = 60
) -> RenderableType:
    return Group(
        header(url, frame, clock),
        trends_panel(trends, spark_width),
        models_table(frame),
        *([queues_table(frame.queues)] if frame.queues else []),
        engines_table(frame),
        components_line(frame),
    )


def unreachable(url: str, interval_s: float, error: str, clock: str) -> RenderableType:
    message = f"gateway unreachable at {url} (retrying every {interval_s:g}s): {error}"
    return Group(
        header(url, None, clock),
        Panel(Text(message, style="bold red"), title="gateway", title_align="left"),
    )


def waiting(url: str, clock: str) -> RenderableType:
    return Group(header(url, None, clock), Text("first scrape done; rates need a second one…"))
