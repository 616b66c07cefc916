"""Start the real services the integration tests drive: llama-server with SmolLM2, the fake
engine, and the gateway, each as its own process on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
MODEL_FILE = REPO / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def llama_server_binary() -> Path:
    """The cached llama-server build (built on first use, ~5-12 min on 2 cores)."""
    override = os.environ.get("LLAMA_SERVER_BIN")
    if override:
        return Path(override)
    build = subprocess.run(
        [str(REPO / "scripts" / "build_llama_server.sh")],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": sys.executable},
    )
    return Path(build.stdout.strip().splitlines()[-1])


def smollm2_model() -> Path:
    return _downloaded("smollm2", MODEL_FILE)


def smollm2_hf_model() -> Path:
    """SmolLM2 in Hugging Face format (what vLLM and MAX load), derived from the GGUF."""
    folder = REPO / "models" / "SmolLM2-135M-Instruct"
    _downloaded("smollm2-hf", folder / "config.json")
    return folder


def _downloaded(what: str, path: Path) -> Path:
    """`path`, made by ./download_model.sh `what` when it is not there yet."""
    if not path.exists():
        subprocess.run(
            [str(REPO / "download_model.sh"), what],
            check=True,
            cwd=REPO,
            env={**os.environ, "PYTHON": sys.executable},
        )
    return path


@contextmanager
def running(
    argv: list[str],
    health_url: str,
    log_path: Path,
    timeout_s: float = 120.0,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` until the block ends; wait for `health_url` to answer 200 first."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        try:
            _wait_healthy(process, health_url, log_path, timeout_s)
            yield process
        finally:
            _stop(process)


def _wait_healthy(
    process: subprocess.Popen[bytes], url: str, log_path: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text()[-3000:]
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}:\n{tail}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not healthy after {timeout_s}s:\n{log_path.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
