"""Profiles from `configs/load_test.yaml` and the pass/fail checks of a report against them.

A profile names the `max_tokens` its requests ask for and its thresholds, each checked
against the report's `overall` figures:

==================== ========================================== ======
key                  figure                                     passes
==================== ========================================== ======
latency_p50_ms       overall.latency_ms.p50                     <=
latency_p95_ms       overall.latency_ms.p95                     <=
latency_p99_ms       overall.latency_ms.p99                     <=
ttft_p95_ms          overall.ttft_ms.p95 (streamed answers)     <=
error_rate           overall.error_rate (0.001 = 0.1 %)         <=
min_requests_per_s   overall.requests_per_s                     >=
==================== ========================================== ======

A figure the run did not produce fails its check, except TTFT in a run without streamed
answers (`--scenario short`): that check is "n/a" and passes.

Its `objectives:` (TTFT, TPOT, E2E limits per request, `load_tests.objectives`) do not pass
or fail a run: open-loop runs report goodput and attainment against them, and a sweep looks
for the highest rate that meets them.

A profile's `scenarios:` block may change some thresholds for one scenario run alone (each
scenario of `--scenario all` is checked as its own run): `long` sends only ~1500-token
prompts, which a CPU engine prefills one after another, so its latencies are another scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from load_tests.objectives import Objectives, parse_objectives

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "load_test.yaml"

# key → (path in the report's `overall`, upper bound?)
THRESHOLDS: dict[str, tuple[tuple[str, ...], bool]] = {
    "latency_p50_ms": (("latency_ms", "p50"), True),
    "latency_p95_ms": (("latency_ms", "p95"), True),
    "latency_p99_ms": (("latency_ms", "p99"), True),
    "ttft_p95_ms": (("ttft_ms", "p95"), True),
    "error_rate": (("error_rate",), True),
    "min_requests_per_s": (("requests_per_s",), False),
}
NOT_APPLICABLE_WITHOUT_DATA = {"ttft_p95_ms"}


class ConfigError(ValueError):
    """configs/load_test.yaml (or the file given instead) is missing or malformed."""


@dataclass(frozen=True)
class Profile:
    name: str
    max_tokens: int
    thresholds: dict[str, float]
    objectives: Objectives = field(
        default_factory=Objectives
    )  # open-loop runs: goodput and attainment


@dataclass(frozen=True)
class Check:
    key: str
    limit: float
    value: float | None
    upper_bound: bool
    not_applicable: bool = False

    @property
    def passed(self) -> bool:
        if self.value is None:
            return self.not_applicable
        return self.value <= self.limit if self.upper_bound else self.value >= self.limit

    def as_dict(self) -> dict[str, Any]:
        verdict = {"key": self.key, "limit": self.limit, "value": self.value, "passed": self.passed}
        return {**verdict, "not_applicable": True} if self.not_applicable else verdict


def load_profile(name: str, path: Path = CONFIG, scenario: str | None = None) -> Profile:
    """Profile `name`, with `scenario`'s own thresholds (if it has any) over its own."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: {error}") from error
    profiles = document.get("profiles") if isinstance(document, dict) else None
    if not isinstance(profiles, dict) or name not in profiles:
        known = sorted(profiles) if isinstance(profiles, dict) else []
        raise ConfigError(f"{path}: no profile {name!r} (profiles: {known})")
    entry = profiles[name] or {}
    thresholds = entry.get("thresholds") or {} if isinstance(entry, dict) else None
    if not isinstance(thresholds, dict):
        raise ConfigError(f"{path}: profile {name!r}: expected max_tokens and thresholds")
    scenarios = entry.get("scenarios") or {}
    if not isinstance(scenarios, dict) or not all(
        isinstance(own, dict) and isinstance(own.get("thresholds"), dict)
        for own in scenarios.values()
    ):
        raise ConfigError(f"{path}: profile {name!r}: scenarios: expected {{name: {{thresholds}}}}")
    for own in (thresholds, *(own["thresholds"] for own in scenarios.values())):
        unknown = set(own) - set(THRESHOLDS)
        if unknown:
            raise ConfigError(f"{path}: profile {name!r}: unknown thresholds {sorted(unknown)}")
    if scenario in scenarios:
        thresholds = {**thresholds, **scenarios[scenario]["thresholds"]}
    try:
        return Profile(
            name=name,
            max_tokens=int(entry.get("max_tokens", 64)),
            thresholds={key: float(limit) for key, limit in thresholds.items()},
            objectives=parse_objectives(entry.get("objectives")),
        )
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{path}: profile {name!r}: {error}") from error


def evaluate(overall: dict[str, Any], thresholds: dict[str, float]) -> list[Check]:
    checks = []
    for key, limit in thresholds.items():
        path, upper_bound = THRESHOLDS[key]
        value: Any = overall
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        not_applicable = value is None and key in NOT_APPLICABLE_WITHOUT_DATA
        checks.append(Check(key, limit, value, upper_bound, not_applicable))
    return checks
