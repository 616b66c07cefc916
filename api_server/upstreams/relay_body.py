"""What a relayed request's body may ask for, and what it asks the upstream for on top:
the registry's limits (max_tokens, `n`, stop sequences) hold on a relay exactly as on the
translated path, and an OpenAI stream always asks for its usage, so it is charged and
logged even when the client did not ask to see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import Field

from api_server.generation.limits import checked_completion
from api_server.registry import ModelSpec
from api_server.validation import LenientModel, parse_object

# Paths that generate (count_tokens and the like only read the prompt).
_OPENAI_GENERATING = frozenset({"/v1/chat/completions", "/v1/completions"})
_ANTHROPIC_GENERATING = frozenset({"/v1/messages"})


class _OpenAILimitFields(LenientModel):
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int | None = None
    stop: str | list[str] | None = None
    stream: bool | None = None


class _AnthropicLimitFields(LenientModel):
    max_tokens: int | None = Field(default=None, ge=1)


@dataclass(frozen=True, slots=True)
class RelayPlan:
    # The client did not ask for stream usage: the upstream's usage chunk (and the
    # `"usage": null` it adds to every other chunk) is taken out of what the client sees.
    strip_stream_usage: bool = False


def prepare_relay_body(body: dict[str, Any], spec: ModelSpec, client_path: str) -> RelayPlan:
    """Check `body` against the model's limits (400 if over) and complete it in place: the
    served model name, the model's default max_tokens when the client set none (an
    upstream's own default may be far beyond the registry's limit), stream usage."""
    engine = spec.engine
    body["model"] = engine.served_name
    if engine.kind == "anthropic":
        if client_path in _ANTHROPIC_GENERATING:
            fields = parse_object(_AnthropicLimitFields, body)
            body["max_tokens"] = checked_completion(
                spec, max_tokens=fields.max_tokens, max_stops=None
            ).max_tokens
        return RelayPlan()
    if client_path not in _OPENAI_GENERATING:
        return RelayPlan()
    openai = parse_object(_OpenAILimitFields, body)
    requested = openai.max_completion_tokens or openai.max_tokens
    limits = checked_completion(spec, max_tokens=requested, n=openai.n, stop=openai.stop)
    if requested is None:
        # Legacy text completions know only max_tokens; chat may need max_completion_tokens.
        chat = client_path == "/v1/chat/completions"
        body[engine.max_tokens_field if chat else "max_tokens"] = limits.max_tokens
    if not openai.stream:
        return RelayPlan()
    options = body.get("stream_options")
    options = options if isinstance(options, dict) else {}
    asked = options.get("include_usage") is True
    body["stream_options"] = {**options, "include_usage": True}
    return RelayPlan(strip_stream_usage=not asked)
