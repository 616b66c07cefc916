from __future__ import annotations

import math

import pytest

from monitor.exposition import Snapshot, labels_of
from monitor.promql import bucket_increase, gauge_sum, histogram_quantile, increase, rate

INF = math.inf


def snap(time: float, *series: tuple[str, dict[str, str], float]) -> Snapshot:
    return Snapshot(time, {(name, labels_of(labels)): value for name, labels, value in series})


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.25, 0.1),  # rank 10 fills the first bucket exactly: its upper bound
        (0.5, 0.3),  # rank 20 in (0.1, 0.5]: 0.1 + 0.4 * (20 - 10) / 20
        (0.95, 0.9),  # rank 38 in (0.5, 1]: 0.5 + 0.5 * (38 - 30) / 10
        (0.05, 0.02),  # rank 4 in [0, 0.1]: 0.1 * 4 / 10
        (0.0, 0.0),
        (1.0, 1.0),
    ],
)
def test_histogram_quantile_interpolates_within_the_bucket(q: float, expected: float) -> None:
    buckets = [(0.1, 10.0), (0.5, 30.0), (1.0, 40.0), (INF, 40.0)]
    assert histogram_quantile(q, buckets) == pytest.approx(expected)


def test_histogram_quantile_in_the_inf_bucket_is_the_highest_finite_bound() -> None:
    assert histogram_quantile(0.99, [(0.1, 10.0), (0.5, 10.0), (INF, 20.0)]) == 0.5


@pytest.mark.parametrize(
    "buckets",
    [
        [],
        [(0.1, 0.0), (INF, 0.0)],  # no observation in the window
        [(0.1, 3.0), (0.5, 5.0)],  # no +Inf bucket
    ],
)
def test_histogram_quantile_without_an_answer_is_none(buckets: list[tuple[float, float]]) -> None:
    assert histogram_quantile(0.5, buckets) is None


def test_histogram_quantile_rejects_q_outside_0_1() -> None:
    assert histogram_quantile(1.5, [(1.0, 1.0), (INF, 1.0)]) is None


def test_histogram_quantile_tolerates_unsorted_and_non_monotonic_buckets() -> None:
    # 0.5 holds fewer than 0.1 (counters read at different moments): treated as 10.
    buckets = [(INF, 20.0), (0.5, 9.0), (0.1, 10.0), (1.0, 20.0)]
    assert histogram_quantile(0.75, buckets) == pytest.approx(0.5 + 0.5 * 5 / 10)


def test_increase_sums_by_labels_and_counts_new_series_from_zero() -> None:
    old = snap(0, ("r_total", {"model": "a", "status": "200"}, 10))
    new = snap(
        5,
        ("r_total", {"model": "a", "status": "200"}, 25),
        ("r_total", {"model": "a", "status": "503"}, 4),
        ("r_total", {"model": "b", "status": "200"}, 1),
    )
    assert increase(old, new, "r_total", ("model",)) == {("a",): 19, ("b",): 1}
    assert increase(old, new, "r_total") == {(): 20}
    errors = increase(old, new, "r_total", where=lambda lb: lb["status"] != "200")
    assert errors == {(): 4}


def test_increase_after_a_counter_reset_is_the_new_value() -> None:
    old = snap(0, ("r_total", {}, 100))
    new = snap(10, ("r_total", {}, 7))
    assert increase(old, new, "r_total") == {(): 7}


def test_rate_divides_by_the_time_between_snapshots() -> None:
    old = snap(10, ("r_total", {"model": "a"}, 10))
    new = snap(14, ("r_total", {"model": "a"}, 30))
    assert rate(old, new, "r_total", ("model",)) == {("a",): 5.0}
    assert rate(new, new, "r_total") == {}


def test_gauge_sum_groups_the_latest_values() -> None:
    s = snap(0, ("g", {"model": "a", "engine": "x"}, 2), ("g", {"model": "a", "engine": "y"}, 3))
    assert gauge_sum(s, "g", ("model",)) == {("a",): 5}
    assert gauge_sum(s, "missing") == {}


def test_bucket_increase_groups_buckets_by_labels_sorted_by_bound() -> None:
    def buckets(t: float, counts: tuple[float, float, float]) -> Snapshot:
        bounds = ("0.1", "1.0", "+Inf")
        pairs = zip(bounds, counts, strict=True)
        return snap(t, *(("h_bucket", {"model": "a", "le": le}, c) for le, c in pairs))

    result = bucket_increase(buckets(0, (1, 2, 3)), buckets(10, (5, 8, 9)), "h", ("model",))
    assert result == {("a",): [(0.1, 4), (1.0, 6), (INF, 6)]}
