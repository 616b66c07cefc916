"""Which rates a sweep runs, and its max goodput rate and saturation point."""

from __future__ import annotations

import pytest

from load_tests.objectives import Objectives
from load_tests.sweep import (
    AutoSweep,
    StepVerdict,
    max_goodput_rate,
    next_auto_rate,
    parse_rates,
    saturation,
    sweep_section,
)


def verdict(
    rate: float, met: bool, achieved: float | None = None, p50: float = 100.0
) -> StepVerdict:
    return StepVerdict(rate, met, rate, rate if achieved is None else achieved, p50)


def run_auto(capacity: float, plan: AutoSweep) -> list[float]:
    """The rates an auto sweep runs against a server meeting the objectives up to `capacity`."""
    verdicts: list[StepVerdict] = []
    while (rate := next_auto_rate(verdicts, plan)) is not None:
        verdicts.append(verdict(rate, rate <= capacity))
        assert len(verdicts) < 50
    return [v.rate for v in verdicts]


def test_auto_doubles_until_a_failure_then_bisects_a_bounded_number_of_steps() -> None:
    rates = run_auto(capacity=13, plan=AutoSweep(start_rate=1, bisect_steps=3))
    assert rates == [1, 2, 4, 8, 16, 12, 14, 13]


def test_auto_closes_in_on_the_capacity_with_more_bisect_steps() -> None:
    plan = AutoSweep(start_rate=1, bisect_steps=8)
    rates = run_auto(capacity=13.3, plan=plan)
    verdicts = [verdict(r, r <= 13.3) for r in rates]
    assert 13.3 - 16 / 2**8 <= max_goodput_rate(verdicts) <= 13.3  # type: ignore[operator]


def test_auto_halves_when_even_the_first_rate_fails() -> None:
    assert run_auto(capacity=0.3, plan=AutoSweep(start_rate=1, bisect_steps=3)) == [
        1, 0.5, 0.25, 0.375,
    ]  # fmt: skip


def test_auto_stops_after_its_doublings_when_nothing_fails() -> None:
    rates = run_auto(capacity=1e9, plan=AutoSweep(start_rate=1, max_doublings=4))
    assert rates == [1, 2, 4, 8, 16]


def test_the_max_goodput_rate_lies_below_the_first_failure() -> None:
    # 8 passing after 6 failed is noise: the bracket stays below the lowest failure.
    verdicts = [verdict(2, True), verdict(4, True), verdict(6, False), verdict(8, True)]
    assert max_goodput_rate(verdicts) == 4
    assert max_goodput_rate([verdict(2, True), verdict(4, True)]) == 4
    assert max_goodput_rate([verdict(2, False)]) is None
    assert max_goodput_rate([]) is None


def test_saturation_is_where_achieved_stops_following_offered_or_latency_doubles() -> None:
    following = [verdict(1, True), verdict(2, True, achieved=1.9), verdict(4, True, achieved=3.7)]
    assert saturation(following) is None
    falling_behind = [*following, verdict(8, False, achieved=6.0)]
    assert saturation(falling_behind) == (8, "achieved 75% of the offered rate")
    queueing = [verdict(1, True, p50=100), verdict(2, True, p50=150), verdict(3, True, p50=250)]
    assert saturation(queueing) == (3, "median E2E 2.5x the lightest step's")


def test_answers_still_in_flight_at_the_windows_end_are_no_shortfall() -> None:
    """A short window at a low rate: 8 sent in 3 s, 7 ended inside it, one still being
    served (0.5 s each). A server keeping up, not a saturated one."""
    light = StepVerdict(2, True, offered_per_s=8 / 3, achieved_per_s=7 / 3, e2e_p50_ms=500,
                        window_s=3)  # fmt: skip
    assert saturation([light]) is None
    # 39 sent, 24 served: far beyond the one or two a keeping-up server has in flight.
    behind = StepVerdict(16, False, offered_per_s=13, achieved_per_s=8, e2e_p50_ms=900,
                         window_s=3)  # fmt: skip
    assert saturation([light, behind]) == (16, "achieved 62% of the offered rate")


def test_parse_rates() -> None:
    assert parse_rates("1, 2,4.5") == [1.0, 2.0, 4.5]
    assert parse_rates("auto") is None
    for bad in ("", "1,0", "-1", "fast"):
        with pytest.raises(ValueError):
            parse_rates(bad)


def test_the_sweep_section_names_the_knee_and_defines_its_figures() -> None:
    steps = [
        {"rate": r, "met_objectives": r < 10, "offered_per_s": r, "achieved_per_s": min(r, 10),
         "e2e_ms": {"p50": 100 if r < 10 else 900}, "window_s": 30}
        for r in (4, 8, 16)
    ]  # fmt: skip
    section = sweep_section(steps, None, Objectives(e2e_ms=500))
    assert section["mode"] == "auto"
    assert section["max_goodput_rate"] == 8
    assert section["saturation"] == {"rate": 16, "why": "achieved 62% of the offered rate"}
    assert section["passed"] is True
    assert section["objectives"] == {"e2e_ms": 500, "min_attainment": 0.9}
    assert {"ttft_ms", "tpot_ms", "itl_ms", "e2e_ms", "goodput_per_s"} <= set(
        section["definitions"]
    )
    assert sweep_section(steps[2:], [16.0], Objectives(e2e_ms=500))["passed"] is False
