"""Agent ids: which agent run (or trace) a request belongs to, for the request log.

A client names it with `X-Agent-ID`; `X-Trace-ID` is accepted as an alias, the name many
agent frameworks and tracing proxies already send a free-form id under (W3C `traceparent` is
structured and stays a tracing header). Unlike the session id nothing is derived: a request
without a usable header has no agent id.

The id only labels rows: rows carry the caller's tenant and the logs API filters within the
caller's rows, so naming another tenant's agent id reveals nothing.
"""

from __future__ import annotations

from api_server.sessions import valid_session_header

AGENT_HEADER = "X-Agent-ID"
AGENT_HEADER_ALIAS = "X-Trace-ID"


def agent_id_for(header: str | None, alias: str | None = None) -> str | None:
    """The first usable of `X-Agent-ID` and `X-Trace-ID`: sanitized as the session id is
    (trimmed, 1 to 128 printable ASCII characters); an unusable value is ignored, not an
    error, as a bad `X-Session-ID` is."""
    for value in (header, alias):
        if value is not None and (usable := valid_session_header(value)) is not None:
            return usable
    return None
