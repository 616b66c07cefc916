"""Rows and usage groups as the API answers them, and the SQL each query runs."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

from api_server.logs.query.protocol import UsageQuery
from api_server.logs.query.repository import LIST_LOGS, USAGE
from api_server.logs_api.service import log_row, usage_body


def _row(**fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(("api_key_id", "latency_ms", "ttft_ms"))
    row.update(id="r", **fields)
    return row


def test_rows_drop_float32_noise_and_stringify_key_ids() -> None:
    key = uuid.uuid4()
    row = log_row(_row(api_key_id=key, latency_ms=12.345000267028809, ttft_ms=None))
    assert row == {"id": "r", "api_key_id": str(key), "latency_ms": 12.35, "ttft_ms": None}


def test_usage_groups() -> None:
    rows = [
        {
            "grp": date(2025, 1, 2),
            "requests": 8,
            "prompt_tokens": 80,
            "completion_tokens": 24,
            "errors": 2,
            "latency": [100.0, 190.123, 199.9999],
            "ttft": None,  # every row without a first token (all failed)
        }
    ]
    since = datetime(2025, 1, 1, tzinfo=UTC)
    body = usage_body(UsageQuery(group_by="day", since=since), rows)
    assert body == {
        "object": "usage",
        "group_by": "day",
        "since": "2025-01-01T00:00:00+00:00",
        "until": None,
        "data": [
            {
                "day": date(2025, 1, 2),
                "requests": 8,
                "prompt_tokens": 80,
                "completion_tokens": 24,
                "total_tokens": 104,
                "errors": 2,
                "error_rate": 0.25,
                "latency_ms": {"p50": 100.0, "p95": 190.12, "p99": 200.0},
                "ttft_ms": {"p50": None, "p95": None, "p99": None},
            }
        ],
    }


def test_statements_are_static_and_parameterized() -> None:
    # Filters are NULL-able parameters; nothing a client sends is spliced into SQL.
    assert set(re.findall(r"\$(\d+)", LIST_LOGS)) == {str(n) for n in range(1, 10)}
    assert "ORDER BY received_at DESC, id DESC" in LIST_LOGS
    assert set(USAGE) == {"model", "key", "day"}
    for sql in USAGE.values():
        assert "percentile_cont" in sql and "{" not in sql
