import os
import subprocess
import sys
from pathlib import Path

import pytest

from stackctl.processes import OWNER_ENV, owned_processes, tail_lines, terminate


@pytest.mark.skipif(not os.path.exists("/proc/self/environ"), reason="needs Linux /proc")
def test_processes_carrying_the_owner_marker_are_found_and_ended(tmp_path: Path) -> None:
    owner = str(tmp_path / "state")
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
        env={**os.environ, OWNER_ENV: owner},
        stdout=subprocess.PIPE,
    )
    try:
        # Popen returns once execve is past its point of no return, before the kernel has
        # set up the new environment block: until then /proc/<pid>/environ reads empty.
        # The child's first line says it runs with its environment in place.
        assert child.stdout is not None and child.stdout.readline() == b"up\n"
        assert [proc.pid for proc in owned_processes(owner)] == [child.pid]
        assert owned_processes(owner + "-other") == []
        assert terminate([child.pid], timeout=5) == []
        assert child.wait(timeout=5) != 0
        assert owned_processes(owner) == []
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def test_tail_lines_returns_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert tail_lines(log, 3) == ["line 97", "line 98", "line 99"]


def test_tail_lines_since_an_offset_skips_earlier_runs(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("old run\n")
    offset = log.stat().st_size
    with log.open("a") as fh:
        fh.write("new run\nfailed\n")
    assert tail_lines(log, 20, since=offset) == ["new run", "failed"]
    # A log rotated since (now shorter than the offset) is read from its start.
    assert tail_lines(log, 20, since=10_000) == ["old run", "new run", "failed"]


def test_tail_lines_of_a_missing_file_is_empty(tmp_path: Path) -> None:
    assert tail_lines(tmp_path / "missing.log", 5) == []
