"""Prometheus exposition text → an immutable snapshot of every sample, keyed by name and labels."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

# Labels as a sorted tuple of pairs: hashable, so a series can be a dict key.
Labels = tuple[tuple[str, str], ...]


class ExpositionError(ValueError):
    """The /metrics body is not Prometheus text."""


def labels_of(mapping: Mapping[str, str]) -> Labels:
    return tuple(sorted(mapping.items()))


@dataclass(frozen=True)
class Snapshot:
    """Every sample of one scrape, taken at `time` (seconds, monotonic clock)."""

    time: float
    series: Mapping[tuple[str, Labels], float] = field(default_factory=dict)

    def samples(self, name: str) -> Iterator[tuple[dict[str, str], float]]:
        """Each series of the sample `name` (full name: `x_total`, `x_bucket`) with its labels."""
        for (sample_name, labels), value in self.series.items():
            if sample_name == name:
                yield dict(labels), value

    def has(self, name: str) -> bool:
        return any(sample_name == name for sample_name, _ in self.series)


def parse_exposition(text: str, time: float) -> Snapshot:
    """Parse a /metrics body. NaN samples are dropped (they carry no rate)."""
    series: dict[tuple[str, Labels], float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                value = float(sample.value)
                if not math.isnan(value):
                    series[(sample.name, labels_of(sample.labels))] = value
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise ExpositionError(f"unreadable metrics text: {exc}") from exc
    return Snapshot(time=time, series=series)
