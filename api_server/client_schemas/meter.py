"""The work one instance check may do: a count of keyword evaluations and a deadline,
enforced inside the validating thread (a timeout around the thread cannot stop it).

`$ref`s that fan out (`a` is `allOf: [b, b]`, `b` is `allOf: [c, c]`, ...) make the work
exponential in the schema's size; every keyword evaluation spends one step, so no schema
makes a check run past its budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

MAX_STEPS = 100_000  # keyword evaluations per instance; a tool's arguments need hundreds
_CLOCK_EVERY = 256  # steps between looks at the clock


class CheckBudgetSpent(Exception):
    """The instance could not be checked within its budget; the words say which one."""


@dataclass(slots=True)
class Meter:
    steps_left: int
    deadline: float  # time.monotonic()
    budget_s: float

    def spend(self) -> None:
        self.steps_left -= 1
        if self.steps_left < 0:
            raise CheckBudgetSpent(f"checking it took more than {MAX_STEPS} schema steps")
        if self.steps_left % _CLOCK_EVERY == 0 and time.monotonic() > self.deadline:
            raise CheckBudgetSpent(f"the value could not be checked within {self.budget_s:g} s")


# Per check (each thread's context is its own): jsonschema's validators are immutable and
# shared by every request, so the meter cannot live on them.
_CURRENT: ContextVar[Meter | None] = ContextVar("client_schema_meter", default=None)


def metered_check(budget_s: float, check: Callable[[], Any]) -> Any:
    """`check()` with a fresh meter; CheckBudgetSpent when it runs out."""
    token = _CURRENT.set(Meter(MAX_STEPS, time.monotonic() + budget_s, budget_s))
    try:
        return check()
    finally:
        _CURRENT.reset(token)


Keyword = Callable[[Any, Any, Any, dict[str, Any]], Iterator[Any] | None]


def metered(keyword: Keyword) -> Keyword:
    """`keyword` spending one step of the current meter each time it is evaluated."""

    def evaluate(validator: Any, value: Any, instance: Any, schema: dict[str, Any]) -> Any:
        meter = _CURRENT.get()
        if meter is not None:
            meter.spend()
        return keyword(validator, value, instance, schema)

    return evaluate
