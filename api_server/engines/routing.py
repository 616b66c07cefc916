"""How a model's requests are spread over its replicas: the settings, what a request
offers routing (its prompt's prefix keys, its session), and the load-aware choice.

`prefix` (the default): a request goes to a replica that lately served its session or the
longest prefix of its prompt, where the engine likely still has that prefix in its KV cache
(the least busy of them, when several did), unless it carries more than `balance_slack`
requests over the least busy one; then, and with `least_busy`, to the least busy. Load is
the gateway's requests in flight to the replica plus the requests waiting inside the engine
(its own /metrics).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from api_server.engines.breaker import BreakerPolicy
from api_server.engines.prefix_index import prefix_keys
from api_server.engines.shared_routes import NOTHING_RECALLED, Recalled

RoutingPolicy = Literal["prefix", "least_busy"]
# Why a replica was chosen: inferstack_routing_decisions_total{reason}.
RouteReason = Literal["session", "prefix", "least_busy", "only"]


@dataclass(frozen=True, slots=True)
class RoutingSettings:
    policy: RoutingPolicy = "prefix"
    block_bytes: int = 512  # the prefix index's granularity (~128 tokens)
    max_blocks: int = 256  # prefixes longer than this many blocks route as this long
    index_entries: int = 50_000  # prefix keys and sessions each, per model (~210 B each)
    balance_slack: float = 2.0
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)


@dataclass(frozen=True, slots=True)
class Route:
    """What one request offers routing: its prompt's prefix keys and its session's key,
    and what other gateway processes remember of them (`shared_routes`)."""

    keys: tuple[int, ...] = ()
    session: int | None = None
    recalled: Recalled = NOTHING_RECALLED


NO_ROUTE = Route()


def route_for(prompt: str, session: str | None, settings: RoutingSettings) -> Route:
    """The route of a prompt about to go to a local engine (`session`: the caller's tenant
    and session id, so two tenants naming one session stay apart)."""
    if settings.policy == "least_busy":
        return NO_ROUTE
    keys = prefix_keys(prompt, settings.block_bytes, settings.max_blocks)
    return Route(keys, _session_key(session) if session else None)


def _session_key(session: str) -> int:
    data = session.encode()
    return zlib.crc32(data) << 32 | zlib.adler32(data)


def choose(
    loads: Sequence[float], candidates: Sequence[int], preferred: int, slack: float
) -> tuple[int, bool]:
    """The replica (an index into `loads`) among `candidates` (not empty), and whether it is
    one of the `preferred` (a mask, bit i for replica i): the least busy preferred candidate
    when its load is within `slack` of the least busy candidate's; otherwise the least busy
    (the first of equals)."""
    least = min(candidates, key=loads.__getitem__)
    liked = [i for i in candidates if preferred >> i & 1]
    if liked:
        best = min(liked, key=loads.__getitem__)
        if loads[best] <= loads[least] + slack:
            return best, True
    return least, False
