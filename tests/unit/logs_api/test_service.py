"""Rows and usage groups as the API answers them, and the SQL each query runs."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

from api_server.logs.query.protocol import GROUP_BYS, LogScope, LogsQuery, UsageQuery
from api_server.logs.query.repository import (
    COLUMNS,
    GET_LOG,
    LIST_LOGS,
    USAGE,
    RequestLogRepository,
    _scope_args,
)
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


def _parameters(sql: str) -> set[int]:
    return {int(n) for n in re.findall(r"\$(\d+)", sql)}


def test_statements_are_static_and_parameterized() -> None:
    # Filters are NULL-able parameters; nothing a client sends is spliced into SQL.
    assert _parameters(LIST_LOGS[False]) == set(range(1, 12))
    assert _parameters(LIST_LOGS[True]) == set(range(1, 13))
    assert "ORDER BY received_at DESC, id DESC" in LIST_LOGS[True]
    assert set(USAGE) == {(group, scoped) for group in GROUP_BYS for scoped in (False, True)}
    for sql in [*USAGE.values(), *LIST_LOGS.values(), *GET_LOG.values()]:
        assert "{" not in sql
    assert all("percentile_cont" in sql for sql in USAGE.values())


def test_a_scoped_statement_filters_on_the_tenant_and_only_the_admin_form_does_not() -> None:
    # The tenant is a fixed clause of the scoped form, not a NULL-able filter: no parameter
    # value can turn a tenant's query into one over every row.
    for scoped, unscoped in [
        (LIST_LOGS[True], LIST_LOGS[False]),
        (GET_LOG[True], GET_LOG[False]),
        *[(USAGE[group, True], USAGE[group, False]) for group in GROUP_BYS],
    ]:
        assert re.search(r"AND tenant = \$\d+\s", scoped + " ")
        assert "tenant =" not in unscoped
        assert max(_parameters(scoped)) == max(_parameters(unscoped), default=0) + 1


def test_scope_arguments() -> None:
    assert _scope_args(LogScope.all_rows()) == (False, ())
    assert _scope_args(LogScope.of_tenant("key:1")) == (True, ("key:1",))
    assert _scope_args(LogScope()) == (True, (None,))  # tenant = NULL: no row at all


class _RecordingPool:
    """Keeps the statement and arguments of each fetch (no database)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, sql: str, *args: Any, **options: Any) -> list[Any]:
        self.calls.append((sql, args))
        return []


async def test_the_agent_id_filter_is_bound_to_its_own_parameter() -> None:
    pool = _RecordingPool()
    repository = RequestLogRepository(pool)  # type: ignore[arg-type]
    await repository.page(LogsQuery(agent_id="agent-7"), LogScope.of_tenant("key:1"))
    sql, args = pool.calls[0]
    number = re.search(r"agent_id = \$(\d+)", sql)
    assert number is not None
    assert args[int(number.group(1)) - 1] == "agent-7"
    assert args[-1] == "key:1"  # the tenant stays the last parameter
    assert re.search(r"tenant = \$" + str(len(args)) + r"\b", sql)
    assert "agent_id" in COLUMNS.split(", ")
