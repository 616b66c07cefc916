"""`--workers 2`: two gateway processes on one port, on the stack's PostgreSQL and Redis.
Each worker is made to serve requests of its own (the other one stopped with SIGSTOP, so
the kernel hands every connection to the running one); then one scrape counts all of them,
every request has its row and its access-log line in the one shared log file, and each
worker spools into a folder of its own. The same for `inferstack run --workers 2` and its
recording."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest

from stackctl.api import NativeStack
from tests.integration.own_gateway import create_key, gateway_env, own_gateway_process
from tests.integration.services import free_port, running
from tests.integration.test_request_logs import wait_for_rows

HELLO = [{"role": "user", "content": "hello workers"}]


def worker_pids(supervisor: subprocess.Popen[bytes]) -> list[int]:
    """The supervisor's worker processes (uvicorn spawns them; its resource tracker aside)."""
    children = Path(f"/proc/{supervisor.pid}/task/{supervisor.pid}/children").read_text()
    pids = []
    for child in children.split():
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:
            pids.append(int(child))
    return sorted(pids)


def log_lines(log_file: Path) -> list[dict[str, object]]:
    lines = log_file.read_text().splitlines() if log_file.exists() else []
    return [json.loads(line) for line in lines]


def wait_for_ready_workers(supervisor: subprocess.Popen[bytes], log_file: Path) -> list[int]:
    """Both workers' pids once each has logged that it is ready (serving)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = worker_pids(supervisor)
        ready = {
            line["pid"]
            for line in log_lines(log_file)
            if str(line["message"]).startswith("gateway ready")
        }
        if len(pids) == 2 and set(pids) <= ready:
            return pids
        time.sleep(0.2)
    raise AssertionError(f"two ready workers expected: {worker_pids(supervisor)}")


@contextmanager
def only(worker: int, others: list[int]) -> Iterator[None]:
    """Only `worker` accepts connections while the block runs (the others are stopped).
    Brief: the supervisor replaces a worker that misses its health checks for 5 s."""
    stopped = [pid for pid in others if pid != worker]
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)


def on_each_worker(
    pids: list[int], counts: list[int], send: Callable[[int], None]
) -> dict[int, int]:
    """`send(n)` n requests (each on a new connection) while only one worker runs."""
    for pid, count in zip(pids, counts, strict=True):
        with only(pid, pids):
            send(count)
    return dict(zip(pids, counts, strict=True))


def scraped(url: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
def gateway(
    native_stack: NativeStack, fake_engine_url: str, tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes], dict[str, str], Path]]:
    env = gateway_env(
        native_stack,
        fake_engine_url,
        tmp_path,
        INFERSTACK_LOG_FILE=str(tmp_path / "gateway.jsonl"),
        INFERSTACK_QDRANT_PATH="",  # local-mode Qdrant is one process's: refused with workers
        INFERSTACK_CACHE_ENABLED="false",  # every request reaches a worker's engine path
    )
    with own_gateway_process(env, tmp_path / "gateway.log", "--workers", "2") as (url, process):
        yield url, process, env, tmp_path


def test_two_workers_count_log_and_spool_as_one_gateway(
    native_stack: NativeStack,
    gateway: tuple[str, subprocess.Popen[bytes], dict[str, str], Path],
) -> None:
    url, supervisor, env, folder = gateway
    log_file = folder / "gateway.jsonl"
    pids = wait_for_ready_workers(supervisor, log_file)
    _, key = create_key(env, "--name", "workers")
    user = f"workers-{time.time_ns()}"

    def send(count: int) -> None:
        for _ in range(count):  # a new client each time: no kept-alive connection
            client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
            reply = client.chat.completions.create(
                model="fake-echo", messages=HELLO, max_tokens=8, user=user
            )  # type: ignore[call-overload]
            assert reply.choices[0].message.content
            client.close()

    served = on_each_worker(pids, [3, 2], send)
    assert worker_pids(supervisor) == pids  # neither was replaced meanwhile

    # One scrape, whichever worker answers it, counts both workers' requests.
    endpoint = {"endpoint": "/v1/chat/completions", "model": "fake-echo"}
    assert scraped(url, "inferstack_requests_total", status="200", **endpoint) == 5
    assert scraped(url, "inferstack_request_latency_seconds_count", **endpoint) == 5
    assert scraped(url, "inferstack_requests_in_flight", model="fake-echo") == 0

    # Every row, and every access line in the one log file, from the worker that served it.
    rows = asyncio.run(wait_for_rows(native_stack, user, 5, timeout_s=30))
    assert len(rows) == 5
    access = [line for line in log_lines(log_file) if line.get("event") == "access"]
    assert Counter(line["pid"] for line in access) == served

    # A spool folder each, taken before either had anything to spool.
    spool = folder / "spool"
    assert (spool / ".lock").exists() and (spool / "worker-1" / ".lock").exists()


def test_two_proxy_workers_record_into_one_recording(upstream_url: str, tmp_path: Path) -> None:
    recording, log_file = tmp_path / "recording.jsonl", tmp_path / "proxy.jsonl"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        sys.executable, "-m", "api_server", "run", "--base-url", upstream_url, "--type", "openai",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--record", str(recording),
    ]  # fmt: skip
    env = {"INFERSTACK_LOG_FILE": str(log_file)}
    with running(argv, f"{url}/health", tmp_path / "proxy.log", timeout_s=60, env=env) as proxy:
        pids = wait_for_ready_workers(proxy, log_file)

        def send(count: int) -> None:
            for n in range(count):
                with httpx.Client(base_url=url, timeout=30) as http:
                    body = {
                        "model": "fake-upstream",
                        "messages": [{"role": "user", "content": f"m{n}"}],
                    }
                    assert http.post("/v1/chat/completions", json=body).status_code == 200

        served = on_each_worker(pids, [4, 3], send)
        assert worker_pids(proxy) == pids
    # Stopped: every exchange is written (the workers drain their interceptors on the way out).
    exchanges = [json.loads(line) for line in recording.read_text().splitlines()]
    assert len(exchanges) == sum(served.values()) == 7
    assert all(exchange["status"] == 200 for exchange in exchanges)
