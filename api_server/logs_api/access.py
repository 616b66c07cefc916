"""Who may read which request logs: the admin key reads every row; any other authenticated
caller (an API key, a JWT subject) reads only its own tenant's; with auth off every caller
is anonymous, and reads only when `logs_api_allow_anonymous` says so (then every row: with
no identities, every row is anonymous's)."""

from __future__ import annotations

from fastapi import Request

from api_server.deps import StateDep
from api_server.errors import LogsAccessDeniedError
from api_server.logs.query.protocol import LogScope

ANONYMOUS_REFUSED = (
    "The logs API needs an authenticated caller (auth_mode is none); set "
    "logs_api_allow_anonymous to let anyone who reaches the gateway read every request log"
)


async def log_scope(request: Request, state: StateDep) -> LogScope:
    """The caller's scope: every row, its own tenant's, or 401 / 403."""
    principal = await state.auth.authenticate(request.url.path, request.headers)
    if principal.admin:
        return LogScope.all_rows()
    if principal.tenant is not None:
        return LogScope.of_tenant(principal.tenant)
    if state.settings.logs_api_allow_anonymous:
        return LogScope.all_rows()
    raise LogsAccessDeniedError(ANONYMOUS_REFUSED)
