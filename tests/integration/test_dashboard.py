"""`/dashboard` in a real headless Chromium, driven over the DevTools protocol: the page loads,
polls the gateway, draws its charts from live traffic, logs no errors, and says so when the
gateway goes away. A screenshot is kept in `$INFERSTACK_REPORT_DIR` (else pytest's tmp dir).

The DevTools driver is `load_tests.browser` (the load test's dashboard screenshot uses it too).
Chromium is Debian's `chromium` (`scripts/install_chromium.sh`); without it these tests skip.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any

import openai
import pytest

from load_tests.browser import chromium_binary, chromium_page

needs_chromium = pytest.mark.skipif(
    chromium_binary() is None,
    reason="no chromium on PATH: run scripts/install_chromium.sh (Debian's chromium, apt, root)",
)


def report_dir(tmp_path: Path) -> Path:
    """Where screenshots go: the load-test report folder when `make` sets it."""
    configured = os.environ.get("INFERSTACK_REPORT_DIR")
    path = Path(configured) if configured else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def steady_traffic(client: openai.OpenAI) -> Iterator[list[int]]:
    """Chat requests to the fake engine (streamed and not) until the block ends; yields the
    running count."""
    done = threading.Event()
    sent = [0]

    def loop() -> None:
        messages: list[Any] = [{"role": "user", "content": "Hello dashboard"}]
        while not done.is_set():
            if sent[0] % 2:
                for _ in client.chat.completions.create(
                    model="fake-echo", messages=messages, stream=True
                ):
                    pass
            else:
                client.chat.completions.create(model="fake-echo", messages=messages)
            sent[0] += 1
            time.sleep(0.02)

    worker = threading.Thread(target=loop, daemon=True)
    worker.start()
    try:
        yield sent
    finally:
        done.set()
        worker.join(timeout=30)


def _number(text: str | None) -> float:
    return float(text) if text else 0.0


@needs_chromium
async def test_dashboard_draws_live_traffic(
    gateway_url: str, client: openai.OpenAI, tmp_path: Path
) -> None:
    with steady_traffic(client) as sent:
        async with chromium_page(tmp_path / "profile") as page:
            await page.navigate(f"{gateway_url}/dashboard")
            # Rates need two scrapes; wait for a third, with traffic moving the figures.
            await page.wait_for(
                "Number(document.body.dataset.polls) >= 3 && "
                "Number(document.body.dataset.healthAnswers) >= 1 && "
                "Number(document.getElementById('stat-rps').dataset.value) > 0",
                timeout_s=30,
            )
            figures = await page.evaluate(
                """(() => {
                  const tile = (id) => document.getElementById(id).dataset.value;
                  const canvas = (name) =>
                    document.querySelector(`figure[data-chart=${name}] canvas`);
                  const inked = (c) => {
                    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
                    let n = 0;
                    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
                    return n;
                  };
                  const charts = {};
                  for (const f of document.querySelectorAll("figure[data-chart]")) {
                    const c = f.querySelector("canvas");
                    charts[f.dataset.chart] = {
                      points: Number(c.dataset.points), max: Number(c.dataset.max), ink: inked(c),
                    };
                  }
                  return {
                    title: document.title,
                    state: document.body.dataset.state,
                    bannerHidden: document.getElementById("banner").hidden,
                    rps: tile("stat-rps"), p95: tile("stat-p95"), ttft: tile("stat-ttft"),
                    tps: tile("stat-tps"), cache: document.getElementById("stat-cache").textContent,
                    models: [...document.querySelectorAll("#models tbody tr[data-model]")]
                      .map((r) => r.dataset.model),
                    engineBadges: document.querySelectorAll("#engines .badge").length,
                    overall: document.getElementById("overall").dataset.status,
                    charts,
                  };
                })()"""
            )
            await page.screenshot(report_dir(tmp_path) / "dashboard.png")
            errors = list(page.errors)
    assert sent[0] > 0
    assert "inferstack" in figures["title"]
    assert figures["state"] == "live" and figures["bannerHidden"]
    assert _number(figures["rps"]) > 0
    assert _number(figures["p95"]) > 0, figures  # quantiles from the latency histogram
    assert _number(figures["ttft"]) > 0, figures
    assert _number(figures["tps"]) > 0, figures
    assert figures["cache"] in {"no cache", "\u2013"} or figures["cache"].endswith("%")
    assert "fake-echo" in figures["models"]
    assert figures["engineBadges"] > 0
    assert figures["overall"] in {"ready", "degraded", "not_ready"}
    throughput = figures["charts"]["throughput"]
    assert throughput["points"] >= 2 and throughput["max"] > 0 and throughput["ink"] > 500
    assert figures["charts"]["latency"]["points"] >= 1, figures["charts"]
    assert errors == []


class _DashboardOnly(BaseHTTPRequestHandler):
    """Serves the dashboard's files and answers everything else 503: a gateway whose
    metrics are gone, for the page's "unreachable" state."""

    routes = {
        "/dashboard": ("index.html", "text/html"),
        "/dashboard/static/dashboard.js": ("dashboard.js", "text/javascript"),
        "/dashboard/static/metrics.js": ("metrics.js", "text/javascript"),
        "/dashboard/static/dashboard.css": ("dashboard.css", "text/css"),
    }

    def do_GET(self) -> None:
        route = self.routes.get(self.path)
        if route is None:
            self.send_error(503)
            return
        body = files("api_server.dashboard").joinpath("static", route[0]).read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", route[1])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@needs_chromium
async def test_dashboard_says_when_the_gateway_is_unreachable(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DashboardOnly)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        async with chromium_page(tmp_path / "profile") as page:
            await page.navigate(f"http://127.0.0.1:{server.server_port}/dashboard")
            await page.wait_for("Number(document.body.dataset.polls) >= 2", timeout_s=20)
            banner = await page.evaluate(
                "document.getElementById('banner').hidden ? '' : "
                "document.getElementById('banner').textContent"
            )
            state = await page.evaluate("document.body.dataset.state")
            errors = list(page.errors)
    finally:
        server.shutdown()
        server.server_close()
    assert "gateway unreachable — retrying" in banner
    assert state == "unreachable"
    # Only the expected failed loads, never a script error.
    assert errors and all(e.startswith("network:") for e in errors), errors
