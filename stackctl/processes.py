"""Find and end the processes a stack started, even after supervisord itself is gone.

supervisord is launched with OWNER_ENV=<state dir> in its environment; every service and
every child of a service inherits it, so the marker finds leftovers of this stack only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

from stackctl.ports import PortHolder, command_line

OWNER_ENV = "STACKCTL_OWNER"


def owned_processes(owner: str, proc: Path = Path("/proc")) -> list[PortHolder]:
    """Live processes whose environment carries OWNER_ENV=owner (never this process)."""
    marker = f"{OWNER_ENV}={owner}".encode()
    found: list[PortHolder] = []
    if not proc.is_dir():  # no /proc (macOS): nothing to sweep beyond what supervisord stops
        return found
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit() or int(pid_dir.name) == os.getpid():
            continue
        try:
            environ = (pid_dir / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            pid = int(pid_dir.name)
            found.append(PortHolder(pid, command_line(pid, proc)))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes; it only waits for its parent to reap it.
    fields = stat_fields(Path(f"/proc/{pid}"))
    return fields is None or fields[0] != "Z"


def stat_fields(pid_dir: Path) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name: state, parent pid, ...
    (None when the process is gone or the file unreadable)."""
    try:
        fields = (pid_dir / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields if len(fields) > 1 else None


def wait_gone(pids: Iterable[int], timeout: float) -> list[int]:
    """Wait until the processes exit; returns those still alive at the deadline."""
    pending = list(pids)
    deadline = time.monotonic() + timeout
    while pending:
        pending = [pid for pid in pending if _alive(pid)]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    return pending


def terminate(pids: Iterable[int], timeout: float = 5.0) -> list[int]:
    """SIGTERM, then SIGKILL whatever is left after `timeout`; returns pids that survived."""
    pids = list(pids)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        pids = wait_gone(pids, timeout)
        if not pids:
            break
    return pids


def tail_lines(path: Path, count: int, since: int = 0) -> list[str]:
    """The last `count` lines of a (possibly large, possibly missing) log file, written after
    byte offset `since` (a file now shorter than that was rotated: read it all)."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            start = since if since <= size else 0
            fh.seek(max(start, size - 64 * 1024))
            data = fh.read()
    except OSError:
        return []
    return data.decode(errors="replace").splitlines()[-count:]
