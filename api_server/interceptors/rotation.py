"""`RotatingJsonlFile`: an append-only JSONL file that rolls over like logging's
RotatingFileHandler (name → name.1 → name.2 …, the oldest beyond backup_count deleted), so
a busy gateway's message log stays within (backup_count + 1) * max_bytes."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO


class RotatingJsonlFile:
    """Not thread-safe: the interceptor chain's single worker is its only writer."""

    def __init__(self, path: Path, max_bytes: int, backup_count: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self._file: IO[bytes] | None = None

    def write_line(self, line: bytes) -> None:
        """Append `line` (no newline of its own) and flush; roll over first if it would push
        a non-empty file past max_bytes. A line longer than max_bytes gets a file alone."""
        file = self._open()
        size = file.tell()
        if size and size + len(line) + 1 > self.max_bytes:
            self._roll_over()
            file = self._open()
        file.write(line + b"\n")
        file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def backup(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{n}")

    def _open(self) -> IO[bytes]:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        return self._file

    def _roll_over(self) -> None:
        self.close()
        if self.backup_count == 0:  # no backups: start the file again
            self.path.unlink(missing_ok=True)
            return
        with contextlib.suppress(FileNotFoundError):
            self.backup(self.backup_count).unlink()
        for n in range(self.backup_count - 1, 0, -1):
            if self.backup(n).exists():
                os.replace(self.backup(n), self.backup(n + 1))
        os.replace(self.path, self.backup(1))
