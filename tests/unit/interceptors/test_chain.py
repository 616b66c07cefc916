"""The chain's worker: order, containment of a failing interceptor, drops on a full
queue, draining on close, building from specs."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from api_server.interceptors import (
    EventRecorderSpec,
    InterceptorChain,
    InterceptorSpec,
    MessageLoggerSpec,
    PrinterSpec,
)
from api_server.interceptors.event_recorder import EventRecorder
from api_server.interceptors.exchange import Exchange
from api_server.interceptors.message_logger import MessageLogger
from api_server.interceptors.printer import Printer
from tests.unit.interceptors.conftest import Collector

EXCHANGE = Exchange("GET", "/v1/models", "", (), b"", started_at=0.0)


class Failing:
    def __init__(self) -> None:
        self.calls = 0

    def on_exchange_start(self, exchange: Exchange) -> None:
        self.calls += 1
        raise RuntimeError("broken interceptor")

    def on_exchange_end(self, exchange: Exchange) -> None:
        self.calls += 1
        raise RuntimeError("broken interceptor")

    def close(self) -> None:
        raise RuntimeError("broken close")


class Blocking:
    """Blocks the worker in its first event until `release` is set."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def on_exchange_start(self, exchange: Exchange) -> None:
        self.entered.set()
        assert self.release.wait(10)

    def on_exchange_end(self, exchange: Exchange) -> None:
        pass

    def close(self) -> None:
        pass


def test_events_reach_every_interceptor_in_order_and_close_drains() -> None:
    first, second = Collector(), Collector()
    chain = InterceptorChain([first, second])
    chain.start()
    for n in range(50):
        chain.submit("start", EXCHANGE)
        chain.submit("end", Exchange("GET", f"/{n}", "", (), b"", 0.0, status=200))
    chain.close(timeout_s=5)
    for collector in (first, second):
        assert len(collector.starts) == 50
        assert [e.path for e in collector.ends] == [f"/{n}" for n in range(50)]
        assert collector.closed


def test_a_failing_interceptor_is_logged_and_the_others_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing, collector = Failing(), Collector()
    chain = InterceptorChain([failing, collector])
    chain.start()
    for _ in range(3):
        chain.submit("end", EXCHANGE)
    chain.close(timeout_s=5)
    assert failing.calls == 3
    assert len(collector.ends) == 3 and collector.closed
    failures = [r for r in caplog.records if "Failing failed on" in r.getMessage()]
    assert len(failures) == 1  # once per interval, not once per exchange
    assert any("failed to close" in r.getMessage() for r in caplog.records)


def test_a_full_queue_drops_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    blocking = Blocking()
    chain = InterceptorChain([blocking], queue_size=2)
    chain.start()
    assert chain.submit("start", EXCHANGE)
    assert blocking.entered.wait(5)  # the worker holds the first event
    accepted = [chain.submit("end", EXCHANGE) for _ in range(5)]
    assert accepted == [True, True, False, False, False]
    assert chain.dropped == 3
    assert sum("queue full" in r.getMessage() for r in caplog.records) == 1
    blocking.release.set()
    chain.close(timeout_s=5)


def test_the_queue_is_bounded_by_the_bytes_it_holds_too() -> None:
    blocking = Blocking()
    big = dataclasses.replace(EXCHANGE, request_body=b"x" * 400)
    chain = InterceptorChain([blocking], queue_size=100, max_queued_bytes=1000)
    chain.start()
    assert chain.submit("start", big)
    assert blocking.entered.wait(5)  # the worker holds the first event: 400 bytes
    accepted = [chain.submit("end", big) for _ in range(3)]
    assert accepted == [True, False, False]  # 800 held; one more would be 1,200
    assert chain.dropped == 2
    blocking.release.set()
    chain.close(timeout_s=5)


def test_close_gives_up_after_its_timeout(caplog: pytest.LogCaptureFixture) -> None:
    blocking = Blocking()
    chain = InterceptorChain([blocking], queue_size=1)
    chain.start()
    chain.submit("start", EXCHANGE)
    assert blocking.entered.wait(5)
    chain.submit("end", EXCHANGE)
    chain.close(timeout_s=0.05)
    assert any("not handled at shutdown" in r.getMessage() for r in caplog.records)
    blocking.release.set()


def test_no_interceptors_is_inactive_and_starts_nothing() -> None:
    chain = InterceptorChain.from_specs([PrinterSpec(enabled=False)])
    assert not chain.active
    chain.start()
    chain.close()


def test_from_specs_builds_each_kind(tmp_path: Path) -> None:
    specs: list[InterceptorSpec] = TypeAdapter(list[InterceptorSpec]).validate_python(
        [
            {"type": "printer", "stream": "stdout", "color": False},
            {"type": "message_logger", "path": str(tmp_path / "m.jsonl"), "max_bytes": 1000},
            {"type": "event_recorder", "path": str(tmp_path / "r.jsonl")},
            {"type": "event_recorder", "enabled": False},
        ]
    )
    assert isinstance(specs[1], MessageLoggerSpec) and specs[1].backup_count == 5
    assert isinstance(specs[2], EventRecorderSpec)
    chain = InterceptorChain.from_specs(specs)
    assert [type(i) for i in chain.interceptors] == [Printer, MessageLogger, EventRecorder]


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "unknown"},
        {"type": "printer", "stream": "file"},
        {"type": "printer", "colour": True},  # misspelt: refused, not ignored
        {"type": "message_logger", "max_bytes": 0},
        {"path": "x.jsonl"},
    ],
)
def test_bad_specs_are_refused(spec: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(InterceptorSpec).validate_python(spec)
