"""Whether a request looks its answer up in the cache and whether its answer is stored."""

from __future__ import annotations

from dataclasses import dataclass

from api_server.engines.types import SamplingParams


@dataclass(frozen=True, slots=True)
class CachePolicy:
    lookup: bool
    store: bool

    @property
    def used(self) -> bool:
        return self.lookup or self.store


BYPASS = CachePolicy(lookup=False, store=False)


def cache_policy(
    sampling: SamplingParams, requested: bool | None = None, cache_control: str | None = None
) -> CachePolicy:
    """By default only deterministic requests (temperature 0, or a seed) use the cache: a
    sampled answer replayed would hide the variety the client asked for. `requested` (the
    body's `cache` field) overrides that either way; `Cache-Control: no-store` uses nothing,
    `no-cache` skips the lookup but still stores the fresh answer."""
    directives = {d.strip().lower() for d in (cache_control or "").split(",")}
    if "no-store" in directives:
        return BYPASS
    eligible = _deterministic(sampling) if requested is None else requested
    if not eligible:
        return BYPASS
    return CachePolicy(lookup="no-cache" not in directives, store=True)


def _deterministic(sampling: SamplingParams) -> bool:
    return sampling.temperature == 0 or sampling.seed is not None
