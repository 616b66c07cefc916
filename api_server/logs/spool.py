"""The request-log spool: where rows wait on local disk while PostgreSQL is down or slow.

An append-only folder of segments, `request_logs-<seq>.jsonl`, one JSON object per line
(the record's fields by name, so a segment written before a column was added still reads).
Sequence numbers only grow, so segments replay oldest first; a segment is deleted only
after every row in it is committed. A segment from a previous run is never appended to:
a new run starts a new segment, so a torn last line (a crash mid-write) stays last.

Durability: appends go to the page cache; `sync()` fsyncs the open segment, and the writer
calls it (off the event loop) after each spill, and a segment is fsynced when sealed. So a
gateway crash loses nothing already spilled, a machine crash at most the rows spilled since
the last sync.

Thread-safety: the event loop appends; `sync`, `read` and `remove` may run in a worker
thread. One lock guards the open segment and the size count.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from api_server.logs.record import RequestLogRecord

logger = logging.getLogger(__name__)

SEGMENT_PREFIX = "request_logs-"
SEGMENT_SUFFIX = ".jsonl"
DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024
_FIELDS = tuple(f.name for f in fields(RequestLogRecord))
_TIME_FIELDS = frozenset({"received_at", "first_token_at", "finished_at"})


def encode_record(record: RequestLogRecord) -> bytes:
    """One spool line, newline included."""
    return orjson.dumps({name: getattr(record, name) for name in _FIELDS}) + b"\n"


def decode_record(line: bytes) -> RequestLogRecord:
    """Raises ValueError (or TypeError, KeyError) for a line that is not a record."""
    data: dict[str, Any] = orjson.loads(line)
    values = {name: data[name] for name in _FIELDS if name in data}
    for name in _TIME_FIELDS & values.keys():
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name])
    return RequestLogRecord(**values)


class RequestLogSpool:
    def __init__(
        self, directory: Path, max_bytes: int, segment_bytes: int = DEFAULT_SEGMENT_BYTES
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()
        existing = self.segments()
        self._size = sum(_size_of(path) for path in existing)
        self._next_seq = segment_seq(existing[-1]) + 1 if existing else 1
        self._file: IO[bytes] | None = None
        self._file_path: Path | None = None
        self._file_bytes = 0
        self._dirty = False

    @property
    def size_bytes(self) -> int:
        return self._size

    def segments(self) -> list[Path]:
        """Every segment on disk, oldest first (the open one included)."""
        return segment_paths(self.directory)

    def sealed_segments(self) -> list[Path]:
        """Segments ready to replay, oldest first: seals the open one first, so rows spilled
        before this call are included."""
        with self._lock:  # no append can open a new segment between the two
            self._seal()
            return self.segments()

    def append(self, records: list[RequestLogRecord]) -> int:
        """Write records in order until the spool is full; how many were written (the rest
        are the caller's to count as dropped). Never raises for a full spool."""
        written = 0
        with self._lock:
            for record in records:
                line = encode_record(record)
                if self._size + len(line) > self.max_bytes:
                    break
                if self._file is None or self._file_bytes >= self.segment_bytes:
                    self._seal()
                    self._open()
                assert self._file is not None
                self._file.write(line)
                self._file_bytes += len(line)
                self._size += len(line)
                written += 1
            if written and self._file is not None:
                self._file.flush()  # into the page cache: a gateway crash loses nothing
                self._dirty = True
        return written

    def sync(self) -> None:
        """fsync the open segment (blocking: call it off the event loop)."""
        with self._lock:
            if self._file is not None and self._dirty:
                os.fsync(self._file.fileno())
                self._dirty = False

    def read(self, path: Path) -> tuple[list[RequestLogRecord], int]:
        """A sealed segment's records in order, and how many lines could not be read (a
        torn last line from a crash, or a corrupt line): those are logged here."""
        records: list[RequestLogRecord] = []
        unreadable = 0
        data = path.read_bytes()
        lines = data.split(b"\n")
        if lines and lines[-1]:
            logger.warning("request-log spool %s ends in a torn line; skipping it", path.name)
            unreadable += 1
        for number, line in enumerate(lines[:-1], start=1):
            try:
                records.append(decode_record(line))
            except (ValueError, TypeError, KeyError) as exc:
                unreadable += 1
                logger.error("request-log spool %s line %d unreadable: %s", path.name, number, exc)
        return records, unreadable

    def remove(self, path: Path) -> None:
        """Delete a replayed segment (never the open one)."""
        with self._lock:
            if path == self._file_path:
                raise ValueError(f"{path} is still being written")
            size = _size_of(path)
            path.unlink(missing_ok=True)
            self._size = max(0, self._size - size)

    def close(self) -> None:
        with self._lock:
            self._seal()

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)  # not before a row needs it
        path = self.directory / segment_name(self._next_seq)
        self._next_seq += 1
        # "xb": a segment is only ever written by the run that created it.
        self._file = path.open("xb")
        self._file_path = path
        self._file_bytes = 0

    def _seal(self) -> None:
        if self._file is None:
            return
        self._file.flush()
        if self._dirty:
            os.fsync(self._file.fileno())
            self._dirty = False
        self._file.close()
        self._file = None
        self._file_path = None


def segment_name(seq: int) -> str:
    return f"{SEGMENT_PREFIX}{seq:012d}{SEGMENT_SUFFIX}"


def segment_paths(directory: Path) -> list[Path]:
    """The segments in `directory`, oldest first."""
    paths = directory.glob(f"{SEGMENT_PREFIX}*{SEGMENT_SUFFIX}")
    return sorted((p for p in paths if segment_seq(p) >= 0), key=segment_seq)


def segment_seq(path: Path) -> int:
    """A segment's sequence number; -1 for a file that only looks like one."""
    digits = path.name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)]
    return int(digits) if digits.isascii() and digits.isdigit() else -1


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
