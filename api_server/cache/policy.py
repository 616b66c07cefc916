"""Whether a request looks its answer up in the cache and whether its answer is stored."""

from __future__ import annotations

from dataclasses import dataclass

from api_server.chat.sampling import SamplingParams


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


def semantic_cache_policy(
    sampling: SamplingParams,
    *,
    model_opt_in: bool,
    requested: bool | None,
    cache_requested: bool | None = None,
    cache_control: str | None = None,
) -> CachePolicy:
    """The semantic cache is opt-in: per model (the registry's `semantic_cache`), where it
    follows the exact cache's policy, or per request (`semantic_cache` in the body, or
    `x-semantic-cache: on|off`), which like the body's `cache` overrides the deterministic
    default. Opting out of either cache (`cache: false`, `no-store`) opts out of both."""
    if requested is False or cache_requested is False:
        return BYPASS
    if requested:
        return cache_policy(sampling, True, cache_control)
    return cache_policy(sampling, cache_requested, cache_control) if model_opt_in else BYPASS


def semantic_cache_requested(body_field: bool | None, header: str | None) -> bool | None:
    """The body's `semantic_cache` field, else the `x-semantic-cache` header (on/off)."""
    if body_field is not None:
        return body_field
    value = (header or "").strip().lower()
    return {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}.get(
        value
    )
