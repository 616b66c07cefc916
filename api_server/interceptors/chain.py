"""`InterceptorChain`: runs the configured interceptors off the request path.

The middleware only puts events on a bounded queue (never waits); one worker thread hands
them to each interceptor in order. A full queue drops the event (counted, logged at most
every few seconds): a slow disk must not slow the gateway. One interceptor's failure is
logged and the others, and the worker, go on.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Sequence
from typing import Literal, Protocol, Self

from api_server.drop_report import DropReport
from api_server.interceptors.config import (
    EventRecorderSpec,
    InterceptorSpec,
    MessageLoggerSpec,
    PrinterSpec,
)
from api_server.interceptors.event_recorder import EventRecorder
from api_server.interceptors.exchange import Exchange
from api_server.interceptors.message_logger import MessageLogger
from api_server.interceptors.printer import Printer

logger = logging.getLogger(__name__)

Phase = Literal["start", "end"]
_STOP = None  # the worker's last item, queued by close()


class Interceptor(Protocol):
    """Called on the chain's worker thread, one event at a time; may block (briefly)."""

    def on_exchange_start(self, exchange: Exchange) -> None:
        """The request has arrived (its body read); the response fields are still empty."""

    def on_exchange_end(self, exchange: Exchange) -> None:
        """The response has ended, completed or not (see `Exchange.status`)."""

    def close(self) -> None:
        """Release files; called on the worker thread once the queue is drained."""


# What queued events may hold in bodies at once: a stalled interceptor (a console nobody
# reads) must not pin gigabytes of 8 MiB captures before the event count runs out.
DEFAULT_MAX_QUEUED_BYTES = 256 * 1024 * 1024


def _body_bytes(exchange: Exchange) -> int:
    return len(exchange.request_body) + sum(len(chunk.data) for chunk in exchange.chunks)


class InterceptorChain:
    def __init__(
        self,
        interceptors: Sequence[Interceptor],
        queue_size: int = 1000,
        max_queued_bytes: int = DEFAULT_MAX_QUEUED_BYTES,
    ) -> None:
        self.interceptors = tuple(interceptors)
        self._queue: queue.Queue[tuple[Phase, Exchange] | None] = queue.Queue(queue_size)
        self.max_queued_bytes = max_queued_bytes
        self._queued_bytes = 0
        self._bytes_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._drops = DropReport()
        self._failures = {id(i): DropReport() for i in self.interceptors}
        self.dropped = 0

    @classmethod
    def from_specs(cls, specs: Sequence[InterceptorSpec], queue_size: int = 1000) -> Self:
        return cls([build_interceptor(spec) for spec in specs if spec.enabled], queue_size)

    @property
    def active(self) -> bool:
        """False with no interceptors: the middleware then passes requests straight on."""
        return bool(self.interceptors)

    def start(self) -> None:
        if self.active and self._thread is None:
            self._thread = threading.Thread(target=self._work, name="interceptors", daemon=True)
            self._thread.start()

    def submit(self, phase: Phase, exchange: Exchange) -> bool:
        """Queue an event without waiting; False when the queue is full (by events or by the
        bytes they hold) and it was dropped."""
        size = _body_bytes(exchange)
        try:
            with self._bytes_lock:
                if self._queued_bytes + size > self.max_queued_bytes:
                    raise queue.Full
                self._queue.put_nowait((phase, exchange))
                self._queued_bytes += size
        except queue.Full:
            self.dropped += 1
            if (count := self._drops.add()) is not None:
                logger.warning(
                    "interceptor queue full (%d): dropped %d events", self._queue.maxsize, count
                )
            return False
        return True

    def close(self, timeout_s: float = 5.0) -> None:
        """Handle what is queued (for up to `timeout_s`), close the interceptors, stop.
        Blocking: from async code, call it with `asyncio.to_thread`."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        deadline = time.monotonic() + timeout_s
        with contextlib.suppress(queue.Full):  # still full at the deadline: give up below
            self._queue.put(_STOP, timeout=timeout_s)
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            logger.warning("interceptors: %d events not handled at shutdown", self._queue.qsize())
        if dropped := self._drops.take():
            logger.warning("interceptor queue full: dropped %d events", dropped)

    def _work(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            phase, exchange = item
            for interceptor in self.interceptors:
                self._call(interceptor, phase, exchange)
            with self._bytes_lock:
                self._queued_bytes -= _body_bytes(exchange)
        for interceptor in self.interceptors:
            try:
                interceptor.close()
            except Exception:
                logger.exception("interceptor %s failed to close", type(interceptor).__name__)

    def _call(self, interceptor: Interceptor, phase: Phase, exchange: Exchange) -> None:
        try:
            if phase == "start":
                interceptor.on_exchange_start(exchange)
            else:
                interceptor.on_exchange_end(exchange)
        except Exception:
            # A broken interceptor fails on every exchange: log its first failure, then a
            # count at most every few seconds.
            if (count := self._failures[id(interceptor)].add()) is not None:
                logger.exception(
                    "interceptor %s failed on %s %s (%d failures since the last report)",
                    type(interceptor).__name__,
                    exchange.method,
                    exchange.path,
                    count,
                )


def build_interceptor(spec: InterceptorSpec) -> Interceptor:
    if isinstance(spec, PrinterSpec):
        return Printer(stream=spec.stream, color=spec.color)
    if isinstance(spec, MessageLoggerSpec):
        return MessageLogger(spec.path, spec.max_bytes, spec.backup_count)
    if isinstance(spec, EventRecorderSpec):
        return EventRecorder(spec.path, spec.max_body_bytes, spec.max_bytes)
    raise TypeError(f"unknown interceptor spec {spec!r}")
