"""Requests and tokens per minute per caller, counted in Redis by one Lua script.

Algorithm: a sliding window of one-second buckets. Each caller has two Redis hashes (requests,
tokens), field = Unix second (Redis' own clock, so every gateway agrees), value = count. A
bucket counts for `window_s` seconds after its second began; the script sums the live ones,
drops the stale ones, decides and charges in one step. Chosen over a fixed window (which lets
2x the limit through around a boundary) and GCRA (which refills continuously, so a burst that
takes longer than one emission interval lets an extra request through): "60 per minute" here
means at most 60 in any 60 s, to the second, with at most 60 small fields per hash.

Both limits admit while the window's count is below the limit: a request costs 1 at admission,
tokens are charged 0 at admission and the actual prompt + completion tokens are added when the
response finishes (`record_tokens`). A caller over its tpm is refused until enough of its
window expires; the overshoot is bounded by what it had in flight, which rpm and the models'
max_concurrency bound. Unlimited (None) dimensions never touch Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

ADMIT_SCRIPT = """
local window = tonumber(ARGV[3])
local clock = redis.call('TIME')
local sec = tonumber(clock[1])
local now_ms = sec * 1000 + math.floor(tonumber(clock[2]) / 1000)

-- used: the live buckets' sum; retry: ms until it drops below limit; reset: ms until empty
local function measure(key, limit)
  if limit < 0 then return 0, 0, 0 end
  local flat = redis.call('HGETALL', key)
  local used, live, stale = 0, {}, {}
  for i = 1, #flat, 2 do
    local s, n = tonumber(flat[i]), tonumber(flat[i + 1])
    if s <= sec - window then
      stale[#stale + 1] = flat[i]
    else
      used = used + n
      live[#live + 1] = {s, n}
    end
  end
  if #stale > 0 then redis.call('HDEL', key, unpack(stale)) end
  table.sort(live, function(a, b) return a[1] < b[1] end)
  local retry, reset = 0, 0
  if #live > 0 then reset = (live[#live][1] + window) * 1000 - now_ms end
  if used >= limit then
    local left = used
    for _, bucket in ipairs(live) do
      left = left - bucket[2]
      if left < limit then
        retry = (bucket[1] + window) * 1000 - now_ms
        break
      end
    end
  end
  return used, retry, reset
end

local rpm, tpm = tonumber(ARGV[1]), tonumber(ARGV[2])
local r_used, r_retry, r_reset = measure(KEYS[1], rpm)
local t_used, t_retry, t_reset = measure(KEYS[2], tpm)
local allowed = 1
if (rpm >= 0 and r_used >= rpm) or (tpm >= 0 and t_used >= tpm) then allowed = 0 end
if allowed == 1 and rpm >= 0 then
  redis.call('HINCRBY', KEYS[1], sec, 1)
  redis.call('EXPIRE', KEYS[1], window + 1)
  r_used = r_used + 1
  r_reset = (sec + window) * 1000 - now_ms
end
return {allowed, r_used, r_retry, r_reset, t_used, t_retry, t_reset}
"""

RECORD_TOKENS_SCRIPT = """
local clock = redis.call('TIME')
redis.call('HINCRBY', KEYS[1], clock[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]) + 1)
return 1
"""


class ScriptRunner(Protocol):
    """`redis.asyncio.Redis.register_script(...)`: EVALSHA, loading the script on NOSCRIPT."""

    async def __call__(self, keys: list[str], args: list[Any]) -> Any: ...


class ScriptingRedis(Protocol):
    def register_script(self, script: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class Dimension:
    """One limit's state after a decision; `limit` None: unlimited (no headers)."""

    limit: int | None
    used: int = 0
    retry_ms: int = 0  # until the count drops below the limit (0 when already below)
    reset_ms: int = 0  # until the window is empty

    @property
    def remaining(self) -> int:
        return max(0, (self.limit or 0) - self.used)

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.used >= self.limit


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    requests: Dimension
    tokens: Dimension

    @property
    def retry_after_s(self) -> float:
        """When a refused caller may try again: its slowest exhausted limit's wait."""
        return max([0, *(d.retry_ms for d in (self.requests, self.tokens) if d.exhausted)]) / 1000


class SlidingWindow:
    """The two scripts, bound to one Redis client. Keys share a `{caller}` hash tag, so a
    Redis Cluster keeps a caller's two hashes on one node (a script may touch only one)."""

    def __init__(self, redis: ScriptingRedis, window_s: int = 60) -> None:
        self.window_s = window_s
        self._admit: ScriptRunner = redis.register_script(ADMIT_SCRIPT)
        self._record: ScriptRunner = redis.register_script(RECORD_TOKENS_SCRIPT)

    async def admit(self, caller: str, rpm: int | None, tpm: int | None) -> Decision:
        reply = await self._admit(keys=_keys(caller), args=[_arg(rpm), _arg(tpm), self.window_s])
        allowed, r_used, r_retry, r_reset, t_used, t_retry, t_reset = (int(v) for v in reply)
        return Decision(
            allowed=bool(allowed),
            requests=Dimension(rpm, r_used, r_retry, r_reset),
            tokens=Dimension(tpm, t_used, t_retry, t_reset),
        )

    async def record_tokens(self, caller: str, tokens: int) -> None:
        if tokens > 0:
            await self._record(keys=[_keys(caller)[1]], args=[tokens, self.window_s])


def _keys(caller: str) -> list[str]:
    return [f"inferstack:rl:{{{caller}}}:requests", f"inferstack:rl:{{{caller}}}:tokens"]


def _arg(limit: int | None) -> int:
    return -1 if limit is None else limit
