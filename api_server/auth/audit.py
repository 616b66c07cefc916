"""The audit trail of authentication: a log line and a counter for every refusal and every
key created or revoked through the admin API.

Never the key or the token: a key's id and display prefix, the caller's address, the path,
and a reason from a fixed list (the metric's labels stay bounded).
"""

from __future__ import annotations

import logging

from api_server.metrics import AuthMetrics

logger = logging.getLogger("api_server.auth.audit")


class AuthAudit:
    def __init__(self, metrics: AuthMetrics | None = None) -> None:
        self.metrics = metrics or AuthMetrics()

    def refused(self, reason: str, path: str, client: str | None) -> None:
        self.metrics.failures.labels(reason).inc()
        logger.warning(
            "auth refused: reason=%s path=%s client=%s",
            reason,
            path[:200],
            client,
            extra={"fields": {"event": "auth_refused", "reason": reason, "client": client}},
        )

    def key_event(self, action: str, key_id: str, prefix: str | None, client: str | None) -> None:
        self.metrics.admin_key_events.labels(action).inc()
        logger.info(
            "admin key %s: id=%s prefix=%s client=%s",
            action,
            key_id,
            prefix,
            client,
            extra={
                "fields": {
                    "event": f"admin_key_{action}",
                    "key_id": key_id,
                    "key_prefix": prefix,
                    "client": client,
                }
            },
        )
