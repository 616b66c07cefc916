"""The open-loop schedule: its mean rate, its burstiness, its seed."""

from __future__ import annotations

import statistics

import pytest

from load_tests.arrivals import arrival_offsets


def gaps(offsets: list[float]) -> list[float]:
    return [b - a for a, b in zip([0.0, *offsets], offsets, strict=False)]


def test_the_mean_gap_is_one_over_the_rate() -> None:
    offsets = arrival_offsets(rate=50, duration_s=400, seed=1)
    assert 19_000 < len(offsets) < 21_000  # 20,000 expected; a Poisson count's sd is ~141
    assert statistics.fmean(gaps(offsets)) == pytest.approx(1 / 50, rel=0.03)
    assert offsets == sorted(offsets)
    assert offsets[0] > 0 and offsets[-1] < 400


@pytest.mark.parametrize(("burstiness", "cv"), [(1.0, 1.0), (0.25, 2.0), (4.0, 0.5)])
def test_burstiness_is_the_gamma_shape(burstiness: float, cv: float) -> None:
    # A gamma gap of shape k has a coefficient of variation 1/sqrt(k): 1 for Poisson,
    # more for bursts, less for an even pace; the mean stays 1/rate.
    spacing = gaps(arrival_offsets(rate=10, duration_s=2000, burstiness=burstiness, seed=2))
    assert statistics.fmean(spacing) == pytest.approx(0.1, rel=0.05)
    assert statistics.stdev(spacing) / statistics.fmean(spacing) == pytest.approx(cv, rel=0.08)


def test_a_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    assert arrival_offsets(5, 60, seed=7) == arrival_offsets(5, 60, seed=7)
    assert arrival_offsets(5, 60, seed=7) != arrival_offsets(5, 60, seed=8)


@pytest.mark.parametrize(("rate", "burstiness"), [(0, 1.0), (-1, 1.0), (1, 0)])
def test_a_rate_or_burstiness_of_zero_is_refused(rate: float, burstiness: float) -> None:
    with pytest.raises(ValueError):
        arrival_offsets(rate, 10, burstiness)
