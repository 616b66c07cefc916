"""`SharedAppendFile`: an append-only file of whole lines that several processes (gateway
workers) write at once, optionally rolling over like logging's RotatingFileHandler
(name → name.1 → name.2 …, the oldest beyond backup_count deleted).

Every append and every roll-over happens under an exclusive `flock` on the file's folder,
so lines never interleave, the size check sees every process's lines, and exactly one
process rolls a full file over. A writer whose open file was rolled over (by itself or by
another process) notices by inode before writing and reopens the new one; so nothing is
written into a backup after the fact, and no backup is clobbered twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class SharedAppendFile:
    """`max_bytes` None: unbounded. With `backup_count` None a line that would push the
    file past `max_bytes` is refused (`append` returns False); otherwise a non-empty file
    rolls over first (0 backups: it starts again), and a line longer than `max_bytes` gets
    a file alone. Not thread-safe within one process: give each thread its own, or a lock."""

    def __init__(
        self, path: Path, max_bytes: int | None = None, backup_count: int | None = None
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self._fd: int | None = None
        self._folder_fd: int | None = None

    def append(self, data: bytes) -> bool:
        """Write `data` (whole lines, newlines included) at the end; False if refused."""
        with self._locked():
            fd = self._current()
            size = os.fstat(fd).st_size
            if self.max_bytes is not None and size + len(data) > self.max_bytes:
                if self.backup_count is None:
                    return False
                if size:
                    self._roll_over()
                    fd = self._current()
            _write_all(fd, data)
        return True

    def backup(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{n}")

    def close(self) -> None:
        for fd in (self._fd, self._folder_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._folder_fd = None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._folder_fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._folder_fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(self._folder_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._folder_fd, fcntl.LOCK_UN)

    def _current(self) -> int:
        """The open file, reopened when the name now points at another (rolled over)."""
        if self._fd is not None:
            try:
                named = os.stat(self.path)
            except FileNotFoundError:
                named = None
            opened = os.fstat(self._fd)
            if named is None or (named.st_ino, named.st_dev) != (opened.st_ino, opened.st_dev):
                os.close(self._fd)
                self._fd = None
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self._fd

    def _roll_over(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if not self.backup_count:  # no backups: start the file again
            self.path.unlink(missing_ok=True)
            return
        with contextlib.suppress(FileNotFoundError):
            self.backup(self.backup_count).unlink()
        for n in range(self.backup_count - 1, 0, -1):
            if self.backup(n).exists():
                os.replace(self.backup(n), self.backup(n + 1))
        os.replace(self.path, self.backup(1))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
