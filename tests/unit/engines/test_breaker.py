"""A replica's circuit breaker: closed, open after failures in a row, one probe at a time
when half-open, closed after successes."""

from __future__ import annotations

from api_server.engines.breaker import BreakerPolicy, CircuitBreaker

POLICY = BreakerPolicy(failures_to_open=3, open_s=10.0, successes_to_close=2)


def test_it_opens_after_failures_in_a_row_only() -> None:
    breaker = CircuitBreaker(POLICY)
    breaker.failed(0)
    breaker.failed(0)
    breaker.succeeded()  # the count starts again
    breaker.failed(1)
    breaker.failed(1)
    assert breaker.state(1) == "closed" and breaker.available(1)
    breaker.failed(2)
    assert breaker.state(2) == "open" and not breaker.available(11.9)


def test_half_open_lets_one_probe_through_at_a_time_then_closes() -> None:
    breaker = CircuitBreaker(POLICY)
    breaker.trip(0)
    assert breaker.state(10) == "half_open" and breaker.available(10)
    assert breaker.take(10) is True
    assert not breaker.available(10)  # the probe is out
    breaker.succeeded()
    assert breaker.state(10) == "half_open"
    assert breaker.take(10)
    breaker.succeeded()
    assert breaker.state(10) == "closed"
    assert breaker.take(10) is False  # closed: no probe to owe


def test_a_failed_probe_opens_it_again_and_an_abandoned_one_frees_the_slot() -> None:
    breaker = CircuitBreaker(POLICY)
    breaker.trip(0)
    assert breaker.take(10)
    breaker.abandoned()
    assert breaker.available(10) and breaker.take(10)
    breaker.failed(10)
    assert breaker.state(15) == "open" and breaker.state(20) == "half_open"


def test_successes_while_open_count_towards_closing() -> None:
    # Tried anyway when every replica's breaker was open, and it answered.
    breaker = CircuitBreaker(POLICY)
    breaker.trip(0)
    breaker.succeeded()
    breaker.succeeded()
    assert breaker.state(1) == "closed"
