"""Retry-After parsing, backoff, and the retry loop over a fake `send`: table-driven."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import cast

import aiohttp
import pytest

from api_server.registry import RetrySpec
from api_server.upstreams.retry import parse_retry_after, retry_delay, send_with_retry

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
POLICY = RetrySpec(max_attempts=3, base_delay_s=0.5, max_delay_s=8.0, retry_after_cap_s=30.0)


def http_date(delta_s: float) -> str:
    return format_datetime(NOW + timedelta(seconds=delta_s), usegmt=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        ("0", 0.0),
        ("1.5", 1.5),
        (" 2 ", 2.0),
        ("-3", 0.0),  # negative: at once
        (http_date(90), 90.0),
        (http_date(-90), 0.0),  # a date in the past: at once
        ("Fri, 02 Jan 2026 03:05:05", 60.0),  # no zone: taken as UTC
        ("soon", None),
        ("Fri, 99 Foo 2026", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    ("retry_after_s", "expected"),
    [
        (0.0, 0.0),
        (1.0, 1.0),
        (30.0, 30.0),  # exactly the cap: still waited for
        (30.5, None),  # beyond the cap: the client gets the answer
        (999.0, None),
    ],
)
def test_retry_delay_honours_retry_after_within_the_cap(
    retry_after_s: float, expected: float | None
) -> None:
    assert retry_delay(0, POLICY, retry_after_s, jitter=lambda: 0.5) == expected


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (9, 8.0)],
)
def test_backoff_doubles_per_attempt_up_to_max_delay(attempt: int, expected: float) -> None:
    assert retry_delay(attempt, POLICY, None, jitter=lambda: 1.0) == expected


@pytest.mark.parametrize("jitter", [0.0, 0.25, 0.999])
def test_backoff_is_full_jitter(jitter: float) -> None:
    assert retry_delay(2, POLICY, None, jitter=lambda: jitter) == pytest.approx(2.0 * jitter)


class FakeResponse:
    """What send_with_retry uses of an aiohttp.ClientResponse."""

    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.headers = headers or {}
        self.read_called = False
        self.released = False

    async def read(self) -> bytes:
        self.read_called = True
        return b'{"error": {"message": "busy"}}'

    def release(self) -> None:
        self.released = True


Outcome = FakeResponse | Exception


class FakeUpstream:
    def __init__(self, outcomes: list[Outcome]) -> None:
        self.outcomes = outcomes
        self.calls = 0
        self.slept: list[float] = []

    async def send(self) -> aiohttp.ClientResponse:
        outcome = self.outcomes[min(self.calls, len(self.outcomes) - 1)]
        self.calls += 1
        if isinstance(outcome, Exception):
            raise outcome
        return cast(aiohttp.ClientResponse, outcome)

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)

    def run(self, policy: RetrySpec = POLICY) -> Awaitable[aiohttp.ClientResponse]:
        return send_with_retry(self.send, policy, "test", sleep=self.sleep)


def responses(*statuses: int) -> list[Outcome]:
    return [FakeResponse(status) for status in statuses]


@pytest.mark.parametrize(
    ("outcomes", "calls", "final_status"),
    [
        (responses(200), 1, 200),
        (responses(503, 502, 200), 3, 200),
        (responses(529, 200), 2, 200),  # Anthropic's overloaded is worth a retry
        (responses(504, 200), 2, 200),
        (responses(429, 200), 2, 200),
        (responses(400), 1, 400),  # a 400 stays a 400
        (responses(401), 1, 401),
        (responses(500), 1, 500),  # not retried either
        (responses(404, 200), 1, 404),
        (responses(503, 503, 503), 3, 503),  # all fail: the last answer goes back
        (responses(503, 503, 503, 200), 3, 503),  # max_attempts, not one more
        (responses(429, 429, 429), 3, 429),
    ],
)
async def test_retried_statuses(outcomes: list[Outcome], calls: int, final_status: int) -> None:
    upstream = FakeUpstream(outcomes)
    response = await upstream.run()
    assert response.status == final_status
    assert upstream.calls == calls
    assert len(upstream.slept) == calls - 1


async def test_retry_after_within_the_cap_is_slept() -> None:
    upstream = FakeUpstream([FakeResponse(429, {"Retry-After": "1"}), FakeResponse(200)])
    response = await upstream.run()
    assert (response.status, upstream.calls, upstream.slept) == (200, 2, [1.0])


async def test_retry_after_beyond_the_cap_returns_at_once() -> None:
    first = FakeResponse(429, {"Retry-After": "999"})
    upstream = FakeUpstream([first, FakeResponse(200)])
    response = await upstream.run()
    assert response is cast(aiohttp.ClientResponse, first)
    assert (upstream.calls, upstream.slept) == (1, [])
    assert not first.released  # its body is the client's answer


async def test_retried_responses_are_read_and_released_the_last_is_not() -> None:
    outcomes = responses(503, 502, 504)
    upstream = FakeUpstream(outcomes)
    response = await upstream.run()
    first, second, last = cast(list[FakeResponse], outcomes)
    assert response is cast(aiohttp.ClientResponse, last)
    assert (first.read_called, first.released) == (True, True)
    assert (second.read_called, second.released) == (True, True)
    assert (last.read_called, last.released) == (False, False)


@pytest.mark.parametrize(
    "error",
    [aiohttp.ClientConnectionError("refused"), aiohttp.ServerDisconnectedError(), TimeoutError()],
)
async def test_a_connection_error_is_retried(error: Exception) -> None:
    upstream = FakeUpstream([error, FakeResponse(200)])
    response = await upstream.run()
    assert (response.status, upstream.calls, len(upstream.slept)) == (200, 2, 1)


@pytest.mark.parametrize("attempts", [1, 2, 3, 5])
async def test_connection_errors_on_every_attempt_raise_after_max_attempts(attempts: int) -> None:
    upstream = FakeUpstream([aiohttp.ClientConnectionError("refused")])
    with pytest.raises(aiohttp.ClientConnectionError):
        await upstream.run(POLICY.model_copy(update={"max_attempts": attempts}))
    assert upstream.calls == attempts
    assert len(upstream.slept) == attempts - 1


async def test_other_exceptions_are_not_retried() -> None:
    upstream = FakeUpstream([ValueError("bug"), FakeResponse(200)])
    with pytest.raises(ValueError):
        await upstream.run()
    assert upstream.calls == 1


async def test_backoff_delays_grow_between_attempts() -> None:
    policy = RetrySpec(max_attempts=4, base_delay_s=1.0, max_delay_s=3.0)
    upstream = FakeUpstream(responses(503, 503, 503, 503))
    await upstream.run(policy)
    assert len(upstream.slept) == 3
    for delay, bound in zip(upstream.slept, [1.0, 2.0, 3.0], strict=True):
        assert 0.0 <= delay <= bound
