"""The servers under test as subprocesses, and what /proc says about their cost."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (uvicorn workers, reloaders)."""
    tree, index = [pid], 0
    while index < len(tree):
        parent = tree[index]
        index += 1
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{parent}/task").iterdir():
                tree += [int(c) for c in (task / "children").read_text().split()]
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process tree, in seconds."""
    ticks = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{member}/stat").read_text()
            # Fields after the parenthesised command name; utime and stime are 14 and 15.
            fields = stat.rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    """Resident memory of a process tree (VmRSS), in MiB."""
    kib = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    kib += int(line.split()[1])
    return kib / 1024


@dataclass
class Server:
    name: str
    url: str
    pid: int | None  # None: started by someone else, not measured
    log_path: Path | None = None

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class ServerStartError(RuntimeError):
    pass


async def wait_healthy(
    server: Server, process: asyncio.subprocess.Process | None, timeout_s: float
) -> None:
    """Poll ``/health`` (then ``/v1/models``) until one answers 200."""
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if process is not None and process.returncode is not None:
                raise ServerStartError(
                    f"{server.name} exited with {process.returncode}\n{server.log_tail()}"
                )
            for path in ("/health", "/v1/models"):
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(server.url + path) as response:
                        if response.status == 200:
                            return
            await asyncio.sleep(0.2)
    raise ServerStartError(f"{server.name} not healthy after {timeout_s}s\n{server.log_tail()}")


@contextlib.asynccontextmanager
async def start_server(
    name: str,
    module_args: list[str],
    port: int,
    log_dir: Path,
    env: dict[str, str] | None = None,
    timeout_s: float = 60.0,
    python: str = sys.executable,
) -> AsyncIterator[Server]:
    """Run ``python -m <module_args>`` until the block ends; its output goes to a log file.

    ``python``: another interpreter, e.g. a peer gateway's own venv."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            python,
            "-m",
            *module_args,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    server = Server(name, f"http://127.0.0.1:{port}", process.pid, log_path)
    try:
        await wait_healthy(server, process, timeout_s)
        yield server
    finally:
        await stop_process(process)


async def stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), 5)
    except TimeoutError:
        process.kill()
        await process.wait()
