"""The reaper: a service's leftover processes end with it, whatever ended the service."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stackctl.processes import wait_gone
from stackctl.reaper import children_of, exit_status

# The "server" starts a "worker" that outlives it (as vLLM's engine core and MAX's model
# worker do), writes the worker's pid, then waits to be killed or exits on its own.
SERVER = """
import subprocess, sys, time
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(sys.argv[1], "w").write(str(worker.pid))
if sys.argv[2] == "exit":
    sys.exit(3)
time.sleep(600)
"""


def _start(tmp_path: Path, mode: str) -> tuple[subprocess.Popen[bytes], Path]:
    pid_file = tmp_path / "worker.pid"
    reaper = subprocess.Popen(
        [sys.executable, "-m", "stackctl.reaper", "--", sys.executable, "-c", SERVER,
         str(pid_file), mode],
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()):
        assert time.monotonic() < deadline, "the server did not start its worker"
        time.sleep(0.05)
    return reaper, pid_file


@pytest.mark.skipif(sys.platform != "linux", reason="subreapers are Linux's")
def test_a_killed_service_takes_its_orphaned_worker_with_it(tmp_path: Path) -> None:
    reaper, pid_file = _start(tmp_path, "wait")
    worker = int(pid_file.read_text())
    server = next(pid for pid in children_of(reaper.pid) if pid != worker)
    os.kill(server, signal.SIGKILL)  # as the integration test kills an engine
    assert reaper.wait(timeout=30) == 128 + signal.SIGKILL
    assert wait_gone([worker], timeout=10) == []


@pytest.mark.skipif(sys.platform != "linux", reason="subreapers are Linux's")
def test_a_service_that_exits_passes_its_status_on_and_leaves_nothing(tmp_path: Path) -> None:
    reaper, pid_file = _start(tmp_path, "exit")
    assert reaper.wait(timeout=30) == 3
    assert wait_gone([int(pid_file.read_text())], timeout=10) == []


def test_a_stop_signal_to_the_group_reaches_the_service_not_the_reaper(tmp_path: Path) -> None:
    reaper = subprocess.Popen(
        [sys.executable, "-m", "stackctl.reaper", "--", sys.executable, "-c",
         "import time; time.sleep(600)"],
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not children_of(reaper.pid):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(reaper.pid, signal.SIGTERM)  # supervisord's stopasgroup
    assert reaper.wait(timeout=30) == 128 + signal.SIGTERM


@pytest.mark.parametrize(("returncode", "status"), [(0, 0), (3, 3), (-9, 137), (-15, 143)])
def test_exit_status(returncode: int, status: int) -> None:
    assert exit_status(returncode) == status


def test_a_missing_program_is_127() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stackctl.reaper", "--", "/nonexistent/program"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 127 and "cannot run" in done.stderr
