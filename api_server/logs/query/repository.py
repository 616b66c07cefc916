"""SQL over `request_logs`. Static statements: an absent filter is a NULL parameter, and
time bounds default to ±infinity so the (received_at, id) index serves every listing.

Every statement comes in two forms, fixed at import: over every row, and over one tenant's
(`tenant = $n`, served by the (tenant, received_at, id) index). Which one runs is the
`LogScope`'s choice, never a parameter a NULL could widen.
"""

from __future__ import annotations

import asyncpg

from api_server.logs.query.protocol import GroupBy, LogScope, LogsQuery, UsageQuery

COLUMNS = (
    "id, received_at, first_token_at, finished_at, endpoint, api_flavour, model, engine,"
    " replica, status_code, error_type, prompt_tokens, completion_tokens, latency_ms, ttft_ms,"
    " stream, cache_outcome, api_key_id, tenant, client_request_id, end_user, session_id,"
    " agent_id, client_addr, archive_key"
)

_LIST_LOGS = """
SELECT {columns}
FROM request_logs
WHERE received_at >= coalesce($1::timestamptz, '-infinity')
  AND received_at < coalesce($2::timestamptz, 'infinity')
  AND (received_at, id) < (coalesce($3::timestamptz, 'infinity'), coalesce($4::text, ''))
  AND ($5::text IS NULL OR model = $5)
  AND ($6::int IS NULL OR status_code BETWEEN $6 AND $7::int)
  AND ($9::text IS NULL OR session_id = $9)
  AND ($10::text IS NULL OR client_request_id = $10)
  AND ($11::text IS NULL OR agent_id = $11)
  {scope}
ORDER BY received_at DESC, id DESC
LIMIT $8
"""

_GET_LOG = "SELECT {columns} FROM request_logs WHERE id = $1 {scope}"

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
  {scope}
GROUP BY 1
ORDER BY 1 NULLS LAST
"""

_GROUPS: dict[GroupBy, str] = {
    "model": "model",
    "key": "api_key_id::text",
    "day": "(received_at AT TIME ZONE 'UTC')::date",
}

# Keyed by "scoped to one tenant": the tenant is the next parameter after the others.
LIST_LOGS: dict[bool, str] = {
    False: _LIST_LOGS.format(columns=COLUMNS, scope=""),
    True: _LIST_LOGS.format(columns=COLUMNS, scope="AND tenant = $12"),
}
GET_LOG: dict[bool, str] = {
    False: _GET_LOG.format(columns=COLUMNS, scope=""),
    True: _GET_LOG.format(columns=COLUMNS, scope="AND tenant = $2"),
}
USAGE: dict[tuple[GroupBy, bool], str] = {
    (group_by, scoped): _USAGE.format(group=group, scope="AND tenant = $3" if scoped else "")
    for group_by, group in _GROUPS.items()
    for scoped in (False, True)
}


class RequestLogRepository:
    def __init__(self, pool: asyncpg.Pool, timeout_s: float = 10.0) -> None:
        self.pool = pool
        self.timeout_s = timeout_s

    async def page(self, query: LogsQuery, scope: LogScope) -> list[asyncpg.Record]:
        """One page, plus one row more when there is a next page."""
        after = query.after
        scoped, tenant = _scope_args(scope)
        return await self.pool.fetch(
            LIST_LOGS[scoped],
            query.since,
            query.until,
            after.received_at if after else None,
            after.id if after else None,
            query.model,
            query.status_min,
            query.status_max,
            query.limit + 1,
            query.session_id,
            query.client_request_id,
            query.agent_id,
            *tenant,
            timeout=self.timeout_s,
        )

    async def get(self, request_id: str, scope: LogScope) -> asyncpg.Record | None:
        """The row, or None when there is none this scope may see (the same answer as a
        missing row: another tenant's ids are not confirmed to exist)."""
        scoped, tenant = _scope_args(scope)
        return await self.pool.fetchrow(
            GET_LOG[scoped], request_id, *tenant, timeout=self.timeout_s
        )

    async def usage(self, query: UsageQuery, scope: LogScope) -> list[asyncpg.Record]:
        scoped, tenant = _scope_args(scope)
        return await self.pool.fetch(
            USAGE[query.group_by, scoped],
            query.since,
            query.until,
            *tenant,
            timeout=self.timeout_s,
        )


def _scope_args(scope: LogScope) -> tuple[bool, tuple[str | None, ...]]:
    """(scoped?, the tenant parameter). A scope of no tenant and not everything is scoped
    to a NULL tenant, which `tenant = NULL` matches nowhere."""
    if scope.everything:
        return False, ()
    return True, (scope.tenant,)
