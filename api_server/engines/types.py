"""What the gateway asks of an engine and what comes back, independent of engine kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api_server.chat.events import TokenLogprob, Usage
from api_server.chat.sampling import SamplingParams
from api_server.prompts.base import FormattedPrompt


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """One raw-prompt completion for `/v1/completions` of an engine."""

    prompt: FormattedPrompt
    sampling: SamplingParams
    request_id: str
    # Strip the family's BOS text when the engine adds BOS itself (llama.cpp cannot be told not to).
    bos_token: str = ""
    # Constrain the output to one JSON value of this schema (a forced tool call's arguments).
    json_schema: dict[str, Any] | None = None
    # The engine's scheduling priority (lower first), for an engine that schedules by it
    # (vLLM with --scheduling-policy priority; the registry's engine.priority_scheduling).
    priority: int | None = None


@dataclass(frozen=True, slots=True)
class CompletionChunk:
    """A piece of generated text. The last chunk carries `finish_reason` and, when the engine
    reports it, `usage`."""

    text: str
    finish_reason: str | None = None
    usage: Usage | None = None
    # The stop string that ended the generation, where the engine reports it (vLLM).
    stop_reason: str | None = None
    # The tokens of `text` with their log probabilities, when the request asked for them.
    logprobs: tuple[TokenLogprob, ...] = ()
