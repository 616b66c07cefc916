"""OpenAI's rate-limit response headers (`x-ratelimit-*`), for 200s and 429s alike."""

from __future__ import annotations

from api_server.ratelimit.window import Decision, Dimension


def rate_limit_headers(decision: Decision) -> dict[str, str]:
    """Only the limits the caller has: an unlimited dimension sends nothing."""
    headers: dict[str, str] = {}
    for suffix, dimension in (("requests", decision.requests), ("tokens", decision.tokens)):
        headers.update(_dimension_headers(suffix, dimension))
    return headers


def _dimension_headers(suffix: str, dimension: Dimension) -> dict[str, str]:
    if dimension.limit is None:
        return {}
    return {
        f"x-ratelimit-limit-{suffix}": str(dimension.limit),
        f"x-ratelimit-remaining-{suffix}": str(dimension.remaining),
        f"x-ratelimit-reset-{suffix}": format_duration(dimension.reset_ms),
    }


def format_duration(ms: int) -> str:
    """OpenAI's style: "250ms", "1s", "6m0s", "1.5s"."""
    if ms < 1000:
        return f"{max(ms, 0)}ms"
    minutes, rest_ms = divmod(ms, 60_000)
    seconds = f"{rest_ms / 1000:.3f}".rstrip("0").rstrip(".")
    return f"{minutes}m{seconds}s" if minutes else f"{seconds}s"
