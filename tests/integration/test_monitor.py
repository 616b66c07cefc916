"""The terminal monitor against the real gateway: a `--once` frame shows the traffic sent to
fake-echo while it scraped and the engines' health; figures move between two frames with
traffic in between; a closed port gives the unreachable message."""

from __future__ import annotations

import io
import re
import socket
import subprocess
import sys
import threading

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam
from rich.console import Console

from monitor.figures import Frame, compute_frame
from monitor.render import dashboard
from monitor.scrape import GatewayScraper
from tests.integration.services import REPO

pytestmark = pytest.mark.integration

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello"}]


def send(client: openai.OpenAI, count: int, model: str = "fake-echo") -> None:
    for _ in range(count):
        client.chat.completions.create(model=model, messages=HELLO, max_tokens=8)


def run_monitor(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "monitor", "--once", "--no-color", "--width", "160", *args]
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60)


def cells(frame: str, first: str) -> list[str]:
    return next(line.split() for line in frame.splitlines() if line.split()[:1] == [first])


def test_once_frame_shows_live_traffic_and_engine_health(
    gateway_url: str, client: openai.OpenAI
) -> None:
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            send(client, 1)

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        result = run_monitor("--url", gateway_url, "--interval", "1")
    finally:
        stop.set()
        sender.join()
    assert result.returncode == 0, result.stderr
    frame = result.stdout
    echo = cells(frame, "fake-echo")  # model row: name, req/s, errors, P50...
    assert float(echo[1]) > 0, frame
    assert echo[2:4] == ["0.0", "%"], frame
    engine_rows = [
        line.split() for line in frame.splitlines() if re.search(r"\s[a-z]+#\d+\s", line)
    ]
    health = {(row[0], row[2]) for row in engine_rows}
    assert ("fake-echo", "up") in health, frame
    assert ("engine-down", "down") in health, frame
    assert "redis up" in frame and "postgres up" in frame


def test_figures_move_between_frames_with_traffic(gateway_url: str, client: openai.OpenAI) -> None:
    scraper = GatewayScraper(gateway_url)
    quiet_start = scraper.scrape()
    quiet_end = scraper.scrape()
    send(client, 20)
    busy_end = scraper.scrape()

    quiet = compute_frame(quiet_start.snapshot, quiet_end.snapshot, quiet_end.readiness)
    busy = compute_frame(quiet_end.snapshot, busy_end.snapshot, busy_end.readiness)
    assert quiet.models.get("fake-echo") is None or quiet.models["fake-echo"].requests_per_s == 0
    echo = busy.models["fake-echo"]
    assert echo.requests_per_s > 0
    assert echo.latency_p95 is not None and echo.ttft_p50 is not None
    assert echo.output_tokens_per_s > 0

    def rendered(frame: Frame) -> str:
        console = Console(width=160, color_system=None, record=True, file=io.StringIO())
        console.print(dashboard(gateway_url, frame, [], "t"))
        return console.export_text()

    assert cells(rendered(quiet), "fake-echo")[1] == "0.00"
    assert float(cells(rendered(busy), "fake-echo")[1]) > 0


def test_once_against_a_closed_port_says_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_monitor("--url", f"http://127.0.0.1:{port}", "--interval", "0.2")
    assert result.returncode == 1  # documented in --help: the gateway could not be read
    assert f"gateway unreachable at http://127.0.0.1:{port} (retrying every 0.2s)" in result.stdout
