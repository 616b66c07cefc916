"""The PromQL functions the dashboard needs, over two snapshots instead of a time series:
`increase`/`rate` of counters summed by some labels, gauge sums, and `histogram_quantile`
over the increase of a histogram's buckets (so percentiles describe the window, not the
process's lifetime)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from monitor.exposition import Snapshot

Group = tuple[str, ...]
LabelFilter = Callable[[dict[str, str]], bool]


def _group(labels: dict[str, str], by: Sequence[str]) -> Group:
    return tuple(labels.get(name, "") for name in by)


def increase(
    old: Snapshot,
    new: Snapshot,
    name: str,
    by: Sequence[str] = (),
    where: LabelFilter | None = None,
) -> dict[Group, float]:
    """`sum by (by) (increase(name[window]))`. A series missing from `old` started at zero
    (prometheus_client creates a labelled series on first use); a value that went down means
    the gateway restarted, so the new value is the whole increase."""
    totals: dict[Group, float] = {}
    for labels, value in new.samples(name):
        if where is not None and not where(labels):
            continue
        before = old.series.get((name, tuple(sorted(labels.items()))), 0.0)
        delta = value - before if value >= before else value
        key = _group(labels, by)
        totals[key] = totals.get(key, 0.0) + delta
    return totals


def rate(
    old: Snapshot,
    new: Snapshot,
    name: str,
    by: Sequence[str] = (),
    where: LabelFilter | None = None,
) -> dict[Group, float]:
    """Per-second `increase`; empty when the two snapshots are not apart in time."""
    elapsed = new.time - old.time
    if elapsed <= 0:
        return {}
    return {key: delta / elapsed for key, delta in increase(old, new, name, by, where).items()}


def gauge_sum(snapshot: Snapshot, name: str, by: Sequence[str] = ()) -> dict[Group, float]:
    """`sum by (by) (name)` of a gauge at one instant."""
    totals: dict[Group, float] = {}
    for labels, value in snapshot.samples(name):
        key = _group(labels, by)
        totals[key] = totals.get(key, 0.0) + value
    return totals


def bucket_increase(
    old: Snapshot, new: Snapshot, histogram: str, by: Sequence[str] = ()
) -> dict[Group, list[tuple[float, float]]]:
    """The increase of each cumulative bucket of `histogram` (base name, without `_bucket`),
    summed by `by`: {group: [(upper bound, count), ...]} sorted by bound."""
    per_bound = increase(old, new, f"{histogram}_bucket", (*by, "le"))
    grouped: dict[Group, list[tuple[float, float]]] = {}
    for key, count in per_bound.items():
        try:
            bound = float(key[-1])
        except ValueError:
            continue
        grouped.setdefault(key[:-1], []).append((bound, count))
    return {key: sorted(buckets) for key, buckets in grouped.items()}


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus's `histogram_quantile`: the q-quantile of cumulative `buckets` (upper bound,
    count), interpolated linearly within the bucket that holds it. None when there is no
    observation, no +Inf bucket, or q is outside [0, 1]."""
    if not 0 <= q <= 1 or not buckets:
        return None
    ordered = sorted(buckets)
    if not math.isinf(ordered[-1][0]):
        return None
    # Differences of counters taken at slightly different moments can break monotonicity.
    counts: list[float] = []
    for _, count in ordered:
        counts.append(max(count, counts[-1]) if counts else count)
    total = counts[-1]
    if total <= 0:
        return None
    rank = q * total
    index = next(i for i, count in enumerate(counts) if count >= rank)
    if index == len(ordered) - 1:
        # In the +Inf bucket: the best answer is the highest finite bound.
        return ordered[-2][0] if len(ordered) > 1 else None
    upper = ordered[index][0]
    lower = ordered[index - 1][0] if index > 0 else 0.0
    below = counts[index - 1] if index > 0 else 0.0
    if index == 0 and upper <= 0:
        return upper
    in_bucket = counts[index] - below
    if in_bucket <= 0:
        return upper
    return lower + (upper - lower) * (rank - below) / in_bucket
