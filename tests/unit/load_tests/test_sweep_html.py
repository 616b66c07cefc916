"""sweep.html: one self-contained page with every chart drawn from the report's data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from load_tests.browser import chromium_binary, chromium_page
from load_tests.sweep_html import render_sweep_html
from tests.unit.load_tests.sweep_report import sweep_report

SVG = "{http://www.w3.org/2000/svg}"


def svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", page, re.S)]


def test_every_chart_is_drawn_from_the_sweep() -> None:
    report = sweep_report()
    page = render_sweep_html(report)
    charts = svgs(page)
    titles = [chart.findtext(f"{SVG}title") for chart in charts]
    assert titles == [
        "Latency vs offered rate",
        "Throughput vs offered rate",
        "Time to first token, CDF per rate",
        "End-to-end latency, CDF per rate",
        "Timeline: latency of each request",
    ]
    for chart in charts:
        assert "no data" not in "".join(chart.itertext())
        assert chart.findall(f"{SVG}polyline") or chart.findall(f"{SVG}circle")
    # Four latency lines, three throughput lines, one CDF per rate, dots for every sample.
    assert [len(c.findall(f"{SVG}polyline")) for c in charts[:4]] == [4, 3, 4, 4]
    samples = sum(len(step["samples"]["rows"]) for step in report["sweep"]["steps"])
    assert len(charts[4].findall(f"{SVG}circle")) == samples


def test_objectives_and_the_knee_are_drawn_and_stated() -> None:
    report = sweep_report()
    best = report["sweep"]["max_goodput_rate"]
    assert best is not None and best < 8  # past capacity (4/s) the queue grows
    page = render_sweep_html(report)
    latency = svgs(page)[0]
    labels = "".join(latency.itertext())
    assert "end-to-end objective" in labels and "TTFT objective" in labels
    assert "max goodput" in labels
    assert f"<b>{best:g} requests/s</b>" in page
    assert page.count("<tr>") == 1 + len(report["sweep"]["steps"])


def test_the_page_loads_nothing_from_elsewhere() -> None:
    page = render_sweep_html(sweep_report())
    for fetching in ("<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import"):
        assert fetching not in page


needs_chromium = pytest.mark.skipif(
    chromium_binary() is None,
    reason="no chromium on PATH: run scripts/install_chromium.sh (Debian's chromium, apt, root)",
)

# Per chart: its title, and how many lines and dots Chromium laid out with a size.
DRAWN = """[...document.querySelectorAll('svg')].map(svg => {
  const sized = sel => [...svg.querySelectorAll(sel)].filter(e => {
    const box = e.getBBox(); return box.width > 0 || box.height > 0; }).length;
  return [svg.querySelector('title').textContent, sized('polyline'), sized('circle')];
})"""


@needs_chromium
async def test_chromium_draws_every_chart(tmp_path: Path) -> None:
    report = sweep_report()
    page_path = tmp_path / "sweep.html"
    page_path.write_text(render_sweep_html(report))
    async with chromium_page(tmp_path / "profile") as page:
        await page.navigate(page_path.as_uri())
        drawn = await page.evaluate(DRAWN)
        await page.screenshot(tmp_path / "sweep.png")
        assert not page.errors
    samples = sum(len(step["samples"]["rows"]) for step in report["sweep"]["steps"])
    assert [title for title, _, _ in drawn] == [
        "Latency vs offered rate",
        "Throughput vs offered rate",
        "Time to first token, CDF per rate",
        "End-to-end latency, CDF per rate",
        "Timeline: latency of each request",
    ]
    assert [lines for _, lines, _ in drawn[:4]] == [4, 3, 4, 4]
    assert drawn[4][2] == samples
    assert (tmp_path / "sweep.png").stat().st_size > 10_000
