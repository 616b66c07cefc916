"""Structured logs: one JSON object per line, carrying the request id of the request that
logged it (set by the request-id middleware in a context variable)."""

from __future__ import annotations

import contextlib
import contextvars
import logging
from datetime import UTC, datetime
from pathlib import Path

import orjson

from api_server.shared_file import SharedAppendFile

current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "current_request_id", default=None
)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the request id while still inside the request's context
    (formatting may happen later, elsewhere)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


class JsonLineFormatter(logging.Formatter):
    def __init__(self, with_pid: bool = False) -> None:
        super().__init__()
        self.with_pid = with_pid  # several workers: whose line it is

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.with_pid:
            entry["pid"] = record.process
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)  # logger.x(..., extra={"fields": {...}})
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class SharedFileHandler(logging.Handler):
    """Log lines into a file that every gateway worker writes and rolls over safely (where
    logging's RotatingFileHandler, one per process, would clobber the others' backups)."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        super().__init__()
        self.file = SharedAppendFile(path, max_bytes, backups)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            # handle() holds the handler's lock around emit: one thread at a time here.
            self.file.append((self.format(record) + "\n").encode("utf-8", "backslashreplace"))
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        with self.lock or contextlib.nullcontext():
            self.file.close()
        super().close()


def configure_logging(
    level: str,
    fmt: str,
    log_file: Path | None = None,
    *,
    max_bytes: int = 10 * 1024 * 1024,
    backups: int = 5,
    with_pid: bool = False,
) -> None:
    """Root logging for the gateway process: JSON lines (default) or plain text, on stderr
    and, given `log_file`, into that file too (rotated at `max_bytes`, `backups` kept);
    `with_pid` (several workers) names the process on every line."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if log_file is not None:
        handlers.append(SharedFileHandler(log_file, max_bytes, backups))
    for handler in handlers:
        handler.addFilter(RequestIdFilter())
        if fmt == "json":
            handler.setFormatter(JsonLineFormatter(with_pid))
        else:
            pid = " [%(process)d]" if with_pid else ""
            handler.setFormatter(
                logging.Formatter(f"%(asctime)s{pid} %(levelname)s %(name)s %(message)s")
            )
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level.upper())
