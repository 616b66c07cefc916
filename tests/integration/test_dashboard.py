"""`/dashboard` in a real headless Chromium, driven over the DevTools protocol: the page loads,
polls the gateway, draws its charts from live traffic, logs no errors, and says so when the
gateway goes away. A screenshot is kept in `$INFERSTACK_REPORT_DIR` (else pytest's tmp dir).

Chromium is Debian's `chromium` (`scripts/install_chromium.sh`); without it these tests skip.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest

# The network may be closed: nothing that phones home, no sandbox (root in CI), no GPU.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--window-size=1440,1000",
    "--remote-debugging-port=0",
)
WIDTH = 1440


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


needs_chromium = pytest.mark.skipif(
    chromium_binary() is None,
    reason="no chromium on PATH: run scripts/install_chromium.sh (Debian's chromium, apt, root)",
)


class Page:
    """One Chromium tab over the DevTools protocol; collects console errors, uncaught
    exceptions and failed loads into `errors`."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())
        self.errors: list[str] = []

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        await self._ws.send_json({"id": call_id, "method": method, "params": params})
        return await asyncio.wait_for(future, timeout=30)

    async def evaluate(self, expression: str) -> Any:
        reply = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in reply:
            raise AssertionError(f"{expression!r} threw: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def navigate(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_for(
            f"location.href === {json.dumps(url)} && document.readyState === 'complete'", 30
        )

    async def wait_for(self, expression: str, timeout_s: float) -> Any:
        """Evaluate `expression` until it is truthy (an exception counts as not yet)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if value := await self.evaluate(expression):
                    return value
            except AssertionError as error:
                last = str(error)
            else:
                last = "falsy"
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out on {expression} ({last}); errors: {self.errors}")
            await asyncio.sleep(0.25)

    async def screenshot(self, path: Path) -> None:
        height = await self.evaluate("document.documentElement.scrollHeight")
        clip = {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1}
        shot = await self.send(
            "Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True
        )
        await asyncio.to_thread(path.write_bytes, base64.b64decode(shot["data"]))

    async def close(self) -> None:
        self._reader.cancel()
        await self._ws.close()

    async def _read(self) -> None:
        async for message in self._ws:
            data = message.json()
            if "id" in data:
                future = self._pending.pop(data["id"])
                if "error" in data:
                    future.set_exception(RuntimeError(f"DevTools: {data['error']}"))
                else:
                    future.set_result(data.get("result", {}))
                continue
            params = data.get("params", {})
            match data.get("method"):
                case "Runtime.consoleAPICalled" if params["type"] in ("error", "assert"):
                    self.errors.append(f"console: {[a.get('value') for a in params['args']]}")
                case "Runtime.exceptionThrown":
                    self.errors.append(f"exception: {params['exceptionDetails']}")
                case "Log.entryAdded" if params["entry"]["level"] == "error":
                    entry = params["entry"]
                    self.errors.append(f"{entry['source']}: {entry['text']} {entry.get('url')}")


@contextlib.asynccontextmanager
async def chromium_page(profile: Path) -> AsyncIterator[Page]:
    """A fresh headless Chromium (own profile) with one blank tab, domains enabled before
    any navigation so no message is missed."""
    binary = chromium_binary()
    assert binary is not None
    argv = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"]
    log_path = profile.parent / f"{profile.name}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(*argv, stdout=log, stderr=subprocess.STDOUT)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"chromium did not start; see {log_path}")
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = await response.json()
            url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
            async with session.ws_connect(url, max_msg_size=0) as ws:
                page = Page(ws)
                for domain in ("Page", "Runtime", "Log"):
                    await page.send(f"{domain}.enable")
                try:
                    yield page
                finally:
                    await page.close()
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            process.kill()
            await process.wait()


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
