"""Report charts: round ticks, CDF steps, and SVG whose marks sit where the data says."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from load_tests.charts import Chart, Rule, Series, cdf_points, nice_ticks, render_svg

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0, 10, [0, 2, 4, 6, 8, 10]),
        (0, 0.7, [0, 0.2, 0.4, 0.6, 0.8]),
        (3, 97, [0, 20, 40, 60, 80, 100]),
        (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (5, 5, [5, 6, 7, 8, 9, 10]),  # one value: a range above it
        (-3, 4, [-4, -2, 0, 2, 4]),
    ],
)
def test_ticks_are_round_and_cover_the_range(low: float, high: float, ticks: list[float]) -> None:
    assert nice_ticks(low, high) == ticks


def test_the_cdf_climbs_to_one_in_value_order() -> None:
    assert cdf_points([3.0, 1.0, 2.0, 2.0]) == [(1.0, 0.25), (2.0, 0.5), (2.0, 0.75), (3.0, 1.0)]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_points_land_on_their_ticks() -> None:
    chart = Chart(
        "Latency vs rate",
        "requests/s",
        "seconds",
        [Series("p50", [(0, 0), (10, 8)])],
        rules=[Rule("y", 4, "objective 4 s")],
    )
    root = parse(render_svg(chart, width=640, height=360))
    marks = root.findall(f"{SVG}circle")
    (x0, y0), (x1, y1) = ((float(c.get("cx", "")), float(c.get("cy", ""))) for c in marks)
    # The plot spans 64..624 across and 28..296 down; ticks 0..10 and 0..8.
    assert (x0, y0, x1, y1) == (64.0, 296.0, 624.0, 28.0)
    rule = [line for line in root.findall(f"{SVG}line") if line.get("stroke-dasharray")]
    assert len(rule) == 1 and float(rule[0].get("y1", "")) == pytest.approx(162.0)
    assert "objective 4 s" in "".join(root.itertext())


def test_steps_draw_each_value_flat_then_up() -> None:
    chart = Chart("CDF", "s", "fraction", [Series("ttft", cdf_points([1.0, 2.0]), "steps")])
    line = parse(render_svg(chart)).find(f"{SVG}polyline")
    assert line is not None
    points = [tuple(map(float, p.split(","))) for p in line.get("points", "").split()]
    assert len(points) == 3
    assert points[1][0] == points[2][0] and points[1][1] == points[0][1]  # flat, then up


def test_text_from_the_data_is_escaped_and_empty_charts_say_so() -> None:
    chart = Chart("<script>", "x & y", "y", [Series("</svg><b>", [])])
    svg = render_svg(chart)
    root = parse(svg)  # still one well-formed element
    assert "<script>" not in svg and "<b>" not in svg
    assert "no data" in "".join(root.itertext())


def test_dots_keep_every_point() -> None:
    points = [(float(i), float(i % 7)) for i in range(500)]
    svg = render_svg(Chart("Timeline", "s", "latency s", [Series("ok", points, "dots")]))
    assert len(re.findall(r"<circle ", svg)) == 500
