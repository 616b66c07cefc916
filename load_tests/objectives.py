"""Latency objectives of a profile (`objectives:` in configs/load_test.yaml), and which
requests meet them.

A request meets an objective when it succeeded and its figure is within the limit; a figure
the request cannot have (TTFT or TPOT of an answer that was not streamed, TPOT of a
one-token answer) does not count against it. A failed request meets none. Goodput is the
rate of requests that meet all objectives; a step of a sweep *meets the objectives* when at
least `min_attainment` of its requests (0.9 by default) meet all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from load_tests.request_record import RequestRecord

LIMITS = ("ttft_ms", "tpot_ms", "e2e_ms")
DEFAULT_MIN_ATTAINMENT = 0.9


@dataclass(frozen=True)
class Objectives:
    ttft_ms: float | None = None
    tpot_ms: float | None = None
    e2e_ms: float | None = None
    min_attainment: float = DEFAULT_MIN_ATTAINMENT

    @property
    def limits(self) -> dict[str, float]:
        """The objectives that are set, by name."""
        values = {"ttft_ms": self.ttft_ms, "tpot_ms": self.tpot_ms, "e2e_ms": self.e2e_ms}
        return {name: limit for name, limit in values.items() if limit is not None}

    def as_dict(self) -> dict[str, float]:
        return {**self.limits, "min_attainment": self.min_attainment}


def parse_objectives(block: Any) -> Objectives:
    """The `objectives:` mapping of a profile (absent: none set). Raises ValueError."""
    if block is None:
        return Objectives()
    if not isinstance(block, Mapping):
        raise ValueError("objectives: expected a mapping of ttft_ms, tpot_ms, e2e_ms")
    unknown = set(block) - {*LIMITS, "min_attainment"}
    if unknown:
        raise ValueError(f"unknown objectives {sorted(unknown)}")
    values = {name: float(block[name]) for name in LIMITS if block.get(name) is not None}
    if any(limit <= 0 for limit in values.values()):
        raise ValueError("objectives must be above 0 ms")
    share = float(block.get("min_attainment", DEFAULT_MIN_ATTAINMENT))
    if not 0 < share <= 1:
        raise ValueError(f"min_attainment is a share in (0, 1], got {share}")
    return Objectives(**values, min_attainment=share)


def objective_verdicts(record: RequestRecord, objectives: Objectives) -> dict[str, bool]:
    """For each objective that is set: did this request meet it?"""
    figures = {"ttft_ms": record.answer.ttft_ms, "tpot_ms": record.tpot_ms, "e2e_ms": record.e2e_ms}
    return {
        name: record.answer.ok and _within(figures[name], limit)
        for name, limit in objectives.limits.items()
    }


def _within(value: float | None, limit: float) -> bool:
    return value is None or value <= limit


def meets_all(record: RequestRecord, objectives: Objectives) -> bool:
    return record.answer.ok and all(objective_verdicts(record, objectives).values())
