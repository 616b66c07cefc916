"""SQL over `request_logs`. Static statements: an absent filter is a NULL parameter, and
time bounds default to ±infinity so the (received_at, id) index serves every listing."""

from __future__ import annotations

import asyncpg

from api_server.logs.query.protocol import GroupBy, LogsQuery, UsageQuery

COLUMNS = (
    "id, received_at, first_token_at, finished_at, endpoint, api_flavour, model, engine,"
    " replica, status_code, error_type, prompt_tokens, completion_tokens, latency_ms, ttft_ms,"
    " stream, cache_outcome, api_key_id, end_user, session_id, client_addr, archive_key"
)

LIST_LOGS = f"""
SELECT {COLUMNS}
FROM request_logs
WHERE received_at >= coalesce($1::timestamptz, '-infinity')
  AND received_at < coalesce($2::timestamptz, 'infinity')
  AND (received_at, id) < (coalesce($3::timestamptz, 'infinity'), coalesce($4::text, ''))
  AND ($5::text IS NULL OR model = $5)
  AND ($6::int IS NULL OR status_code BETWEEN $6 AND $7::int)
  AND ($9::text IS NULL OR session_id = $9)
ORDER BY received_at DESC, id DESC
LIMIT $8
"""

GET_LOG = f"SELECT {COLUMNS} FROM request_logs WHERE id = $1"

_USAGE = """
SELECT {group} AS grp,
       count(*) AS requests,
       coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
       coalesce(sum(completion_tokens), 0) AS completion_tokens,
       count(*) FILTER (WHERE status_code >= 400) AS errors,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms) AS latency,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY ttft_ms) AS ttft
FROM request_logs
WHERE received_at >= coalesce($1::timestamptz, '-infinity')
  AND received_at < coalesce($2::timestamptz, 'infinity')
GROUP BY 1
ORDER BY 1 NULLS LAST
"""

# One statement per grouping, fixed at import: nothing from a request is spliced into SQL.
USAGE: dict[GroupBy, str] = {
    "model": _USAGE.format(group="model"),
    "key": _USAGE.format(group="api_key_id::text"),
    "day": _USAGE.format(group="(received_at AT TIME ZONE 'UTC')::date"),
}


class RequestLogRepository:
    def __init__(self, pool: asyncpg.Pool, timeout_s: float = 10.0) -> None:
        self.pool = pool
        self.timeout_s = timeout_s

    async def page(self, query: LogsQuery) -> list[asyncpg.Record]:
        """One page, plus one row more when there is a next page."""
        after = query.after
        return await self.pool.fetch(
            LIST_LOGS,
            query.since,
            query.until,
            after.received_at if after else None,
            after.id if after else None,
            query.model,
            query.status_min,
            query.status_max,
            query.limit + 1,
            query.session_id,
            timeout=self.timeout_s,
        )

    async def get(self, request_id: str) -> asyncpg.Record | None:
        return await self.pool.fetchrow(GET_LOG, request_id, timeout=self.timeout_s)

    async def usage(self, query: UsageQuery) -> list[asyncpg.Record]:
        return await self.pool.fetch(
            USAGE[query.group_by], query.since, query.until, timeout=self.timeout_s
        )
