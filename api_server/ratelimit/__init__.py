"""Rate limits: requests and tokens per minute per caller in Redis (`window`, one Lua
script), OpenAI's `x-ratelimit-*` headers (`headers`), the per-model concurrency valve
(`concurrency`), and the gate the front doors call (`limiter`, `gate`)."""

from api_server.ratelimit.gate import admit_request, with_headers
from api_server.ratelimit.limiter import Admission, RateLimiter, RateLimitMetrics
from api_server.ratelimit.window import Decision, Dimension, SlidingWindow

__all__ = [
    "Admission",
    "Decision",
    "Dimension",
    "RateLimitMetrics",
    "RateLimiter",
    "SlidingWindow",
    "admit_request",
    "with_headers",
]
