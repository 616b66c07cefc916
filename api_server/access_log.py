"""The gateway's access log: one line per tracked request, written from its finished
request-log row (which already knows the model and the tokens), and a warning for a
request slower than `slow_request_warning_s`.

Only the front doors' requests are tracked (all POSTs); health, models and metrics have no
row and no line: they are polled often and say nothing about load.
"""

from __future__ import annotations

import logging

from api_server.logs.record import RequestLogRecord

logger = logging.getLogger("api_server.access")

TRACKED_METHOD = "POST"  # every front door's route


class AccessLog:
    def __init__(self, *, enabled: bool = True, slow_request_warning_s: float | None = 10.0):
        self.enabled = enabled
        self.slow_request_warning_s = slow_request_warning_s

    def finished(self, record: RequestLogRecord) -> None:
        """A `RequestTracker.on_finish` hook."""
        latency_ms = round(record.latency_ms or 0.0, 1)
        fields: dict[str, object] = {
            "event": "access",
            "method": TRACKED_METHOD,
            "path": record.endpoint,
            "status": record.status_code,
            "model": record.model,
            "latency_ms": latency_ms,
            "prompt_tokens": record.prompt_tokens,
            "completion_tokens": record.completion_tokens,
            "request_id": record.id,  # the line may be formatted outside the request's context
        }
        if self.enabled:
            logger.info(
                "%s %s %s model=%s latency_ms=%s",
                TRACKED_METHOD,
                record.endpoint,
                record.status_code,
                record.model,
                latency_ms,
                extra={"fields": fields},
            )
        threshold = self.slow_request_warning_s
        if threshold is not None and latency_ms > threshold * 1000:
            logger.warning(
                "slow request: %s %s model=%s latency_ms=%s (over %ss)",
                TRACKED_METHOD,
                record.endpoint,
                record.model,
                latency_ms,
                threshold,
                extra={"fields": {**fields, "event": "slow_request", "threshold_s": threshold}},
            )
