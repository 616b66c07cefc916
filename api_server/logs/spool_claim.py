"""Which spool folder a gateway process writes: one per live process, so that several
workers (or gateways) sharing `request_log_spool_dir` never append to, replay or delete
each other's segments.

A process claims the configured folder itself when no live process holds it, else the first
free `worker-N` inside it, by an exclusive `flock` on the folder's `.lock` kept until the
process ends (the kernel drops it when a process dies, however it dies). While claiming, it
moves into its own folder the segments of every folder no live process holds, renumbered
after its own: rows a stopped or crashed process left are replayed by whoever starts next,
whatever the number of workers is now. Claims happen one at a time (`.claim.lock`).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from api_server.logs.spool import segment_name, segment_paths, segment_seq

logger = logging.getLogger(__name__)

_LOCK = ".lock"
_CLAIM_LOCK = ".claim.lock"
_WORKER_PREFIX = "worker-"


@dataclass
class SpoolClaim:
    directory: Path
    _lock_fd: int

    def release(self) -> None:
        """After the spool is closed: another process may take the folder over from here."""
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1


def claim_spool_directory(root: Path) -> SpoolClaim:
    root.mkdir(parents=True, exist_ok=True)
    with _exclusively(root / _CLAIM_LOCK):
        folders = [root, *_worker_folders(root)]
        claimed: tuple[Path, int] | None = None
        for folder in _candidates(root, folders):
            if (fd := _try_lock(folder)) is not None:
                claimed = folder, fd
                break
        assert claimed is not None  # _candidates ends with a folder nobody has made yet
        directory, lock_fd = claimed
        for folder in folders:
            if folder != directory:
                _adopt_if_abandoned(folder, directory)
    return SpoolClaim(directory, lock_fd)


def _worker_folders(root: Path) -> list[Path]:
    def number(path: Path) -> int:
        digits = path.name.removeprefix(_WORKER_PREFIX)
        return int(digits) if digits.isdigit() else -1

    found = [p for p in root.glob(f"{_WORKER_PREFIX}*") if p.is_dir() and number(p) > 0]
    return sorted(found, key=number)


def _candidates(root: Path, folders: list[Path]) -> Iterator[Path]:
    yield from folders
    taken = {folder.name for folder in folders}
    n = 1
    while True:
        name = f"{_WORKER_PREFIX}{n}"
        if name not in taken:
            (root / name).mkdir(exist_ok=True)
            yield root / name
        n += 1


def _try_lock(folder: Path) -> int | None:
    """The folder's lock held (its fd), or None when a live process holds it."""
    fd = os.open(folder / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _adopt_if_abandoned(folder: Path, into: Path) -> None:
    fd = _try_lock(folder)
    if fd is None:
        return  # its process is alive and replays its own
    try:
        orphans = segment_paths(folder)
        if not orphans:
            return
        own = segment_paths(into)
        next_seq = segment_seq(own[-1]) + 1 if own else 1
        for offset, path in enumerate(orphans):
            os.replace(path, into / segment_name(next_seq + offset))
        logger.info(
            "request-log spool: %d segments a stopped process left in %s will be replayed",
            len(orphans),
            folder,
        )
    finally:
        os.close(fd)


@contextlib.contextmanager
def _exclusively(lock_path: Path) -> Iterator[None]:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing drops the lock
