"""`EventRecorder`: append each finished exchange to a recording that `inferstack replay`
can re-send (see exchange_log.py for the format; credentials are never written).

A recording is bounded: each body is cut to `max_body_bytes` (the exchange is then marked
`request_truncated` / `response_truncated`), and once the file holds `max_bytes` further
exchanges are left out, counted in `skipped` and logged (at most every few seconds, and
the total at close): a recorder left on must not fill the disk. Several gateway workers may
record into one file: each exchange is one line appended whole (see shared_file.py)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from api_server.drop_report import DropReport
from api_server.interceptors.exchange import BodyChunk, Exchange
from api_server.interceptors.exchange_log import RecordedExchange
from api_server.shared_file import SharedAppendFile

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


class EventRecorder:
    def __init__(
        self,
        path: Path,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.path = path
        self.max_body_bytes = max_body_bytes
        self.max_bytes = max_bytes
        self.skipped = 0  # exchanges left out because the recording was full
        self._skips = DropReport()
        self._file = SharedAppendFile(path, max_bytes)  # opened on the first exchange

    def on_exchange_start(self, exchange: Exchange) -> None:
        """Only finished exchanges are recorded: replay needs the response too."""

    def on_exchange_end(self, exchange: Exchange) -> None:
        recorded = RecordedExchange.from_exchange(capped(exchange, self.max_body_bytes))
        line = recorded.model_dump_json().encode() + b"\n"
        if not self._file.append(line):
            self.skipped += 1
            if (count := self._skips.add()) is not None:
                logger.warning(
                    "recording %s is full (%d bytes): %d exchanges not recorded",
                    self.path,
                    self.max_bytes,
                    count,
                )

    def close(self) -> None:
        if skipped := self._skips.take():
            logger.warning("recording %s was full: %d exchanges not recorded", self.path, skipped)
        self._file.close()


def capped(exchange: Exchange, max_body_bytes: int) -> Exchange:
    """`exchange` with each body cut to `max_body_bytes` (and marked truncated)."""
    request_body = exchange.request_body
    chunks = exchange.chunks
    request_cut = len(request_body) > max_body_bytes
    response_cut = sum(len(chunk.data) for chunk in chunks) > max_body_bytes
    if not (request_cut or response_cut):
        return exchange
    if response_cut:
        kept: list[BodyChunk] = []
        room = max_body_bytes
        for chunk in chunks:
            if room <= 0:
                break
            kept.append(dataclasses.replace(chunk, data=chunk.data[:room]))
            room -= len(chunk.data)
        chunks = tuple(kept)
    return dataclasses.replace(
        exchange,
        request_body=request_body[:max_body_bytes],
        request_truncated=exchange.request_truncated or request_cut,
        chunks=chunks,
        response_truncated=exchange.response_truncated or response_cut,
    )
