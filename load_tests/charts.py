"""Charts for the load-test report as inline SVG: self-contained (no script, no CDN), so the
report opens anywhere, offline, and prints.

One chart kind covers what the report draws: series of (x, y) points drawn as lines, steps
(CDFs) or dots (a timeline), on linear axes with round ticks, plus labelled rules across the
plot (an objective, the knee). Pure: a `Chart` in, SVG text out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

# Distinguishable for the common colour-vision deficiencies (Okabe and Ito's palette).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
RULE_COLOUR = "#888888"

Point = tuple[float, float]


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[Point]
    shape: Literal["line", "steps", "dots"] = "line"


@dataclass(frozen=True)
class Rule:
    """A labelled line across the plot at `at` on `axis` (x: vertical, y: horizontal)."""

    axis: Literal["x", "y"]
    at: float
    label: str


@dataclass(frozen=True)
class Chart:
    title: str
    x_label: str
    y_label: str
    series: Sequence[Series]
    rules: Sequence[Rule] = ()


@dataclass(frozen=True)
class _Frame:
    """Where the plot sits in the picture, and the data ranges it shows."""

    left: float
    top: float
    width: float
    height: float
    x_ticks: Sequence[float]
    y_ticks: Sequence[float]

    def x(self, value: float) -> float:
        low, high = self.x_ticks[0], self.x_ticks[-1]
        return self.left + (value - low) / (high - low) * self.width

    def y(self, value: float) -> float:
        low, high = self.y_ticks[0], self.y_ticks[-1]
        return self.top + self.height - (value - low) / (high - low) * self.height


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values (steps of 1, 2 or 5 times a power of ten) that
    cover [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("ticks need finite bounds")
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw_step = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    steps = round((last - first) / step)
    return [_round(first + i * step, step) for i in range(steps + 1)]


def cdf_points(values: Iterable[float]) -> list[Point]:
    """The empirical CDF as steps: (value, fraction of values at or below it)."""
    ordered = sorted(values)
    total = len(ordered)
    return [(value, (rank + 1) / total) for rank, value in enumerate(ordered)]


def render_svg(chart: Chart, width: int = 640, height: int = 360) -> str:
    """The chart as one `<svg>` element; a chart without any point says so in the plot."""
    frame = _frame(chart, width, height)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="11">',
        f"<title>{escape(chart.title)}</title>",
        f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-size="13" '
        f'font-weight="bold">{escape(chart.title)}</text>',
        *_axes(chart, frame),
    ]
    if not any(series.points for series in chart.series):
        parts.append(
            f'<text x="{frame.left + frame.width / 2:.1f}" y="{frame.top + frame.height / 2:.1f}" '
            'text-anchor="middle" fill="#888">no data</text>'
        )
    vertical = 0
    for rule in chart.rules:
        parts.extend(_rule(rule, frame, vertical))
        vertical += rule.axis == "x"
    for index, series in enumerate(chart.series):
        parts.extend(_series(series, PALETTE[index % len(PALETTE)], frame))
    parts.extend(_legend(chart.series, frame))
    parts.append("</svg>")
    return "\n".join(parts)


def _frame(chart: Chart, width: int, height: int) -> _Frame:
    xs = [x for series in chart.series for x, _ in series.points]
    ys = [y for series in chart.series for _, y in series.points]
    xs += [rule.at for rule in chart.rules if rule.axis == "x"]
    ys += [rule.at for rule in chart.rules if rule.axis == "y"]
    x_ticks = nice_ticks(min(xs, default=0.0), max(xs, default=1.0))
    # Latencies, rates and fractions: the y axis starts at zero unless a value is below it.
    y_ticks = nice_ticks(min(0.0, *ys) if ys else 0.0, max(ys, default=1.0))
    left, right, top, bottom = 64.0, 16.0, 28.0, 64.0
    return _Frame(left, top, width - left - right, height - top - bottom, x_ticks, y_ticks)


def _axes(chart: Chart, frame: _Frame) -> list[str]:
    bottom = frame.top + frame.height
    parts = [
        f'<rect x="{frame.left:.1f}" y="{frame.top:.1f}" width="{frame.width:.1f}" '
        f'height="{frame.height:.1f}" fill="none" stroke="#ccc"/>'
    ]
    for tick in frame.x_ticks:
        x = frame.x(tick)
        parts.append(
            f'<line x1="{x:.1f}" y1="{frame.top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
            'stroke="#eee"/>'
            f'<text x="{x:.1f}" y="{bottom + 14:.1f}" text-anchor="middle">{_label(tick)}</text>'
        )
    for tick in frame.y_ticks:
        y = frame.y(tick)
        parts.append(
            f'<line x1="{frame.left:.1f}" y1="{y:.1f}" x2="{frame.left + frame.width:.1f}" '
            f'y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{frame.left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_label(tick)}</text>"
        )
    parts.append(
        f'<text x="{frame.left + frame.width / 2:.1f}" y="{bottom + 30:.1f}" '
        f'text-anchor="middle">{escape(chart.x_label)}</text>'
        f'<text transform="translate(14 {frame.top + frame.height / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{escape(chart.y_label)}</text>'
    )
    return parts


def _rule(rule: Rule, frame: _Frame, index: int) -> list[str]:
    """`index`: how many vertical rules came before: each one's label goes a line lower,
    so that two rules at one place stay legible."""
    style = f'stroke="{RULE_COLOUR}" stroke-dasharray="5 4"'
    if rule.axis == "x":
        x = frame.x(rule.at)
        # Near the right edge the label goes left of its line, inside the plot.
        right_half = x > frame.left + frame.width / 2
        anchor, label_x = ("end", x - 4) if right_half else ("start", x + 4)
        return [
            f'<line x1="{x:.1f}" y1="{frame.top:.1f}" x2="{x:.1f}" '
            f'y2="{frame.top + frame.height:.1f}" {style}/>',
            f'<text x="{label_x:.1f}" y="{frame.top + 12 + 12 * index:.1f}" '
            f'text-anchor="{anchor}" '
            f'fill="#555">{escape(rule.label)}</text>',
        ]
    y = frame.y(rule.at)
    return [
        f'<line x1="{frame.left:.1f}" y1="{y:.1f}" x2="{frame.left + frame.width:.1f}" '
        f'y2="{y:.1f}" {style}/>',
        f'<text x="{frame.left + frame.width - 4:.1f}" y="{y - 4:.1f}" text-anchor="end" '
        f'fill="#555">{escape(rule.label)}</text>',
    ]


def _series(series: Series, colour: str, frame: _Frame) -> list[str]:
    points = [(frame.x(x), frame.y(y)) for x, y in series.points]
    if not points:
        return []
    if series.shape == "dots":
        return [
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}" fill-opacity="0.6"/>'
            for x, y in points
        ]
    if series.shape == "steps":  # a CDF: flat until the next value, then up
        stepped = [points[0]]
        for (_, y_before), (x, y) in itertools.pairwise(points):
            stepped += [(x, y_before), (x, y)]
        points = stepped
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    marks = (
        [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points]
        if series.shape == "line"
        else []
    )
    return [f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>', *marks]


def _legend(series: Sequence[Series], frame: _Frame) -> list[str]:
    parts = []
    x, y = frame.left, frame.top + frame.height + 46
    for index, one in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 8:.1f}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14:.1f}" y="{y + 1:.1f}">{escape(one.name)}</text>'
        )
        x += 24 + 7 * len(one.name)
    return parts


def _round(value: float, step: float) -> float:
    """A tick value without float noise (0.30000000000000004 → 0.3)."""
    decimals = max(0, -math.floor(math.log10(step)) + 1)
    return round(value, decimals)


def _label(value: float) -> str:
    return f"{value:g}"
