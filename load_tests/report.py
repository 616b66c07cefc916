"""`report.json` from Locust's statistics.

The locustfile records three kinds of rows in Locust's stats, all named after the scenario:

- `POST <scenario>`: the chat request itself (response time = until the last byte);
- `TTFT <scenario>` and `ITL <scenario>`: custom request events whose "response time" is the
  time to first token, or one gap between token chunks, of a streamed answer;
- `USAGE <scenario>`: one event per answer whose "response time" and "content length" are its
  `usage.completion_tokens`;
- `REQUESTED <scenario>`: one event per answer of a workload scenario, whose "response
  time" and "content length" are the max_tokens it asked for (so the report sets the
  output tokens asked for beside those received);
- `TOOLCALL tools`: one event per tool-calling answer, failed when the answer holds no call
  to the function named in `tool_choice` (a small model can write a malformed one).

Locust merges those rows across workers (counts, sums and its histogram of rounded response
times), so this module only reads merged rows: it gets the same numbers from a local run and
from a master with any number of workers. Percentiles are read from that histogram (exact
below 100 ms, to 10 ms below 1 s, to 100 ms below 10 s) by nearest rank.

This module does not import locust (whose import monkey-patches the standard library), so the
report is tested without it; the locustfile converts Locust's rows to `StatsRow`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPORTS = Path(__file__).parent / "reports"  # one <timestamp> folder per run; git-ignored

CHAT = "POST"
TTFT = "TTFT"
ITL = "ITL"
USAGE = "USAGE"
TOOLCALL = "TOOLCALL"
REQUESTED = "REQUESTED"
KINDS = (CHAT, TTFT, ITL, USAGE, TOOLCALL, REQUESTED)

LATENCY_PERCENTILES = (50, 90, 95, 99)
TOKEN_PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class StatsRow:
    """One row of Locust's stats (a `StatsEntry`), reduced to what the report reads."""

    request_type: str
    name: str
    num_requests: int
    num_failures: int
    response_times: Mapping[float, int]  # Locust's histogram: rounded time → count
    max_response_time: float
    total_response_time: float
    total_content_length: int


def percentile(histogram: Mapping[float, int], percent: float) -> float | None:
    """Nearest-rank percentile of a value → count histogram; None when it is empty."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(total * percent / 100))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    return float(max(histogram))


def build_report(
    rows: Iterable[StatsRow], duration_s: float, config: Mapping[str, Any]
) -> dict[str, Any]:
    by_kind: dict[str, dict[str, StatsRow]] = {}
    for row in rows:
        by_kind.setdefault(row.request_type, {})[row.name] = row
    scenarios = sorted(by_kind.get(CHAT, {}))
    return {
        "config": dict(config),
        "duration_s": round(duration_s, 3),
        "scenarios": {
            name: _figures([_get(by_kind, kind, name) for kind in KINDS], duration_s)
            for name in scenarios
        },
        "overall": _figures([list(by_kind.get(kind, {}).values()) for kind in KINDS], duration_s),
    }


def _get(by_kind: dict[str, dict[str, StatsRow]], kind: str, name: str) -> list[StatsRow]:
    row = by_kind.get(kind, {}).get(name)
    return [row] if row else []


def _figures(groups: list[list[StatsRow]], duration_s: float) -> dict[str, Any]:
    chat, ttft, itl, usage, tool_calls, requested = groups
    requests = sum(row.num_requests for row in chat)
    failures = sum(row.num_failures for row in chat)
    latency_ms = _percentiles(chat, LATENCY_PERCENTILES)
    latency_ms["max"] = _round(max((row.max_response_time for row in chat), default=None))
    latency_ms["avg"] = _round(
        sum(row.total_response_time for row in chat) / requests if requests else None
    )
    tokens = sum(row.total_content_length for row in usage)
    answers = sum(row.num_requests for row in tool_calls)
    missed = sum(row.num_failures for row in tool_calls)
    return {
        "requests": requests,
        "failures": failures,
        "error_rate": round(failures / requests, 6) if requests else None,
        "requests_per_s": _round(requests / duration_s if duration_s > 0 else None),
        "latency_ms": latency_ms,
        "ttft_ms": _token_percentiles(ttft),
        "itl_ms": _token_percentiles(itl),
        "output_tokens": tokens,
        "output_tokens_per_s": _round(tokens / duration_s if duration_s > 0 else None),
        "output_len": _output_len(usage, requested),
        # Share of tool-calling answers that call the named function; None without any.
        "tool_call_rate": round(1 - missed / answers, 4) if answers else None,
    }


def _output_len(usage: list[StatsRow], requested: list[StatsRow]) -> dict[str, float | None]:
    """Mean output tokens asked for (max_tokens of workload requests; None for the dataset
    scenarios, which take the profile's) and received (usage.completion_tokens)."""
    answers = sum(row.num_requests for row in usage)
    asked = sum(row.num_requests for row in requested)
    received = sum(row.total_content_length for row in usage)
    return {
        "requested_mean": _round(
            sum(row.total_content_length for row in requested) / asked if asked else None
        ),
        "received_mean": _round(received / answers if answers else None),
    }


def _token_percentiles(rows: list[StatsRow]) -> dict[str, float | None] | None:
    """None when the scenario has no streamed answers (TTFT and ITL need a stream)."""
    if not any(row.num_requests for row in rows):
        return None
    return _percentiles(rows, TOKEN_PERCENTILES)


def _percentiles(rows: list[StatsRow], percents: tuple[int, ...]) -> dict[str, float | None]:
    histogram = _merged(rows)
    # A histogram bucket can lie above the slowest request (1582 ms counts as 1600).
    ceiling = max((row.max_response_time for row in rows), default=0.0)
    values = {f"p{p}": percentile(histogram, p) for p in percents}
    return {
        key: None if value is None else min(value, round(ceiling, 2))
        for key, value in values.items()
    }


def _merged(rows: list[StatsRow]) -> Counter[float]:
    histogram: Counter[float] = Counter()
    for row in rows:
        histogram.update(row.response_times)
    return histogram


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
