"""Proxy mode (`inferstack run --base-url URL --type openai|anthropic`): the gateway as a
pure pass-through for one hosted upstream. Every model name goes there unchanged, through
one catch-all registry entry, but an Anthropic client's: `anthropic_model_map` may map it, and
an OpenAI-style upstream gets it spelled as its model list has it (`upstreams.model_catalog`).
The interceptors, sessions and request tracking still apply.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, PositiveInt

from api_server.registry import (
    CATCH_ALL_MODEL,
    EngineSpec,
    MaxTokensSpec,
    ModelRegistry,
    ModelSpec,
    RetrySpec,
    UpstreamAuth,
    UpstreamKind,
    sdk_base_url,
    with_default_retry,
)

# Generous: the upstream enforces its own limits, the gateway only fills in a default.
_PROXY_CONTEXT_LENGTH = 10_000_000
_PROXY_MAX_TOKENS_LIMIT = 1_000_000


class UpstreamSettings(BaseModel):
    """The `upstream:` block of a proxy-mode config file (or the `run` flags)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Either spelling works: OpenAI's with or without /v1, Anthropic's with or without it.
    base_url: HttpUrl
    type: UpstreamKind
    auth: UpstreamAuth = UpstreamAuth()
    retry: RetrySpec = RetrySpec()
    timeout_s: float = Field(default=600.0, gt=0)
    # max_tokens for clients that send none (Anthropic's API requires one).
    default_max_tokens: PositiveInt = 4096
    headers: dict[str, str] = Field(default_factory=dict)
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"


def upstream_registry(
    upstream: UpstreamSettings, default_retry: RetrySpec | None = None
) -> ModelRegistry:
    """The catch-all registry of proxy mode; `default_retry` (the top-level `retry`
    setting) applies when the `upstream:` block names no `retry` of its own."""
    # Passed on only when set, so that the engine's own fields say whether it named one.
    own_retry = {"retry": upstream.retry} if "retry" in upstream.model_fields_set else {}
    spec = ModelSpec(
        name=CATCH_ALL_MODEL,
        engine=EngineSpec(
            kind=upstream.type,
            served_name=CATCH_ALL_MODEL,  # replaced by each request's own model name
            urls=(HttpUrl(sdk_base_url(str(upstream.base_url), upstream.type)),),
            auth=upstream.auth,
            **own_retry,
            headers=upstream.headers,
            max_tokens_field=upstream.max_tokens_field,
        ),
        context_length=_PROXY_CONTEXT_LENGTH,
        max_tokens=MaxTokensSpec(
            default=upstream.default_max_tokens, limit=_PROXY_MAX_TOKENS_LIMIT
        ),
        timeout_s=upstream.timeout_s,
        owned_by=upstream.type,
    )
    return ModelRegistry((with_default_retry(spec, default_retry),), default_model=CATCH_ALL_MODEL)
