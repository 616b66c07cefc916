"""A circuit breaker per engine replica: after `failures_to_open` failures in a row the
replica gets no requests for `open_s`; then one request at a time probes it (half-open),
and `successes_to_close` good answers in a row close it again. A failed probe opens it
for another `open_s`.

Pure state with the clock passed in, so routing (which asks it on every request) and the
tests share one implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]
# /metrics: inferstack_engine_breaker_state takes these values.
BREAKER_STATE_VALUES: dict[BreakerState, int] = {"closed": 0, "half_open": 1, "open": 2}


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failures_to_open: int = 3
    open_s: float = 5.0
    successes_to_close: int = 2


class CircuitBreaker:
    def __init__(self, policy: BreakerPolicy) -> None:
        self.policy = policy
        self._state: BreakerState = "closed"
        self._failures = 0  # in a row, while closed
        self._successes = 0  # in a row, while half-open
        self._opened_at = 0.0
        self._probing = False  # a half-open probe is out

    def state(self, now: float) -> BreakerState:
        if self._state == "open" and now >= self._opened_at + self.policy.open_s:
            return "half_open"
        return self._state

    def available(self, now: float) -> bool:
        """Whether a request may go to the replica now (asking changes nothing)."""
        state = self.state(now)
        return state == "closed" or (state == "half_open" and not self._probing)

    def take(self, now: float) -> bool:
        """A request goes to the replica: True when it is the half-open probe, whose
        verdict (`succeeded`, `failed`) or `abandoned` lets the next one through."""
        if self.state(now) != "half_open":
            return False
        self._state = "half_open"
        self._probing = True
        return True

    def succeeded(self) -> None:
        self._failures = 0
        self._probing = False
        if self._state != "closed":  # half-open; or open, tried when every breaker was
            self._successes += 1
            if self._successes >= self.policy.successes_to_close:
                self._state, self._successes = "closed", 0

    def failed(self, now: float) -> None:
        self._probing = False
        if self._state == "closed":
            self._failures += 1
            if self._failures < self.policy.failures_to_open:
                return
        self.trip(now)

    def trip(self, now: float) -> None:
        """Open now, whatever the count (a failed health check: the replica is down)."""
        self._state, self._opened_at = "open", now
        self._failures = self._successes = 0
        self._probing = False

    def abandoned(self) -> None:
        """The probe ended without a verdict (the client left before the engine answered)."""
        self._probing = False
