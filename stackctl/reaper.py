"""`python -m stackctl.reaper -- COMMAND...`: run one service so that none of its processes
outlives it.

vLLM and MAX Serve run their model in child processes (an engine core, a model worker). When
the server process itself dies (killed, crashed), those children live on as orphans, holding
gigabytes of memory, while supervisord starts a new server beside them: seen with both, 3.6
and 4 GB per crash. supervisord only signals a process group when it stops a program, not
when the program dies. So each service runs under this reaper: a child subreaper (Linux
prctl), to which orphaned descendants are reparented; once the service's own process has
exited, it ends every descendant left (SIGTERM, then SIGKILL) and exits with the service's
status, and supervisord restarts it as before.

Signals supervisord sends (to the whole process group, `stopasgroup`) reach the service
directly; the reaper lets them pass and waits.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from stackctl.processes import stat_fields, terminate

_PR_SET_CHILD_SUBREAPER = 36
_LEFTOVER_GRACE_S = 5.0
_ROUNDS = 5


def become_subreaper() -> bool:
    """Orphaned descendants are reparented to this process, not to init (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def children_of(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """Live direct children of `pid`, from /proc/<pid>/stat."""
    found: list[int] = []
    for entry in proc.iterdir() if proc.is_dir() else ():
        if not entry.name.isdigit():
            continue
        fields = stat_fields(entry)
        if fields is not None and fields[1] == str(pid) and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _reap_zombies() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def exit_status(returncode: int) -> int:
    """A shell's exit status for the service's: 128 + signal when a signal ended it."""
    return 128 - returncode if returncode < 0 else returncode


def run(argv: Sequence[str]) -> int:
    become_subreaper()
    # The group's stop signal is the service's to act on; the reaper outlives it to clean up.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    try:
        service = subprocess.Popen(
            list(argv),
            # The service gets default signal handling back (ignored dispositions inherit).
            preexec_fn=_default_signals,
        )
    except OSError as exc:
        print(f"stackctl.reaper: cannot run {argv[0]}: {exc}", file=sys.stderr)
        return 127
    returncode = service.wait()
    end_leftovers(argv[0], returncode)
    return exit_status(returncode)


def end_leftovers(name: str, returncode: int) -> None:
    """End what the service left. Each round's victims may leave orphans of their own (a
    model worker under an engine core), reparented here in turn: repeat until none."""
    for _ in range(_ROUNDS):
        _reap_zombies()
        leftovers = children_of(os.getpid())
        if not leftovers:
            return
        print(
            f"stackctl.reaper: {name} exited ({returncode}); ending {len(leftovers)} "
            f"process(es) it left: {', '.join(map(str, leftovers))}",
            file=sys.stderr,
            flush=True,
        )
        terminate(leftovers, timeout=_LEFTOVER_GRACE_S)


def _default_signals() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: python -m stackctl.reaper -- COMMAND [ARG...]", file=sys.stderr)
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
