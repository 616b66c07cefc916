"""Failing over a local generation to another replica: before its first byte the request
is sent again as it was; once text has streamed, the answer is continued from where it
stopped: the formatted prompt plus the text already sent becomes a raw completion for what
is left of the token budget, and the client sees one uninterrupted stream.

Refused (the error ends the answer as before) where the continuation could not be exact:
an answer held to a JSON schema (the constraint would restart at the middle of a value).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from api_server.chat.events import Usage
from api_server.engines.types import CompletionRequest
from api_server.errors import EngineError, EngineOverloadedError


@dataclass(slots=True)
class Progress:
    """What the engines have generated for one request so far, across replicas."""

    chunks: list[str] = field(default_factory=list)
    tokens: int = 0  # one per text chunk, or the chunk's tokens when logprobs name them
    # Of the engines before the current one: added to what the last one reports.
    tokens_before: int = 0

    def add(self, text: str, tokens: int) -> None:
        self.chunks.append(text)
        self.tokens += tokens

    @property
    def started(self) -> bool:
        return self.tokens > 0


def may_fail_over(error: EngineError, request: CompletionRequest, progress: Progress) -> bool:
    """Whether the generation may go on elsewhere after `error`: before any text, any engine
    failure (another replica may be healthy, or less busy); after some, a broken stream
    (not a 429, which cannot come mid-stream) unless the answer is schema-constrained."""
    if not progress.started:
        return True
    return not isinstance(error, EngineOverloadedError) and request.json_schema is None


def continued_request(request: CompletionRequest, progress: Progress) -> CompletionRequest | None:
    """The request that generates the rest of the answer; None when the budget is spent
    (the answer ended at its length exactly as the engine died)."""
    if not progress.started:
        return request
    left = request.sampling.max_tokens - progress.tokens
    if left <= 0:
        return None
    prompt = replace(request.prompt, text=request.prompt.text + "".join(progress.chunks))
    return replace(request, prompt=prompt, sampling=replace(request.sampling, max_tokens=left))


def continued_usage(usage: Usage | None, progress: Progress) -> Usage:
    """The whole answer's usage: what the last engine reported, less the earlier text it was
    given as prompt (a continuation), or one token per chunk when it reported none."""
    if usage is None:
        return Usage(prompt_tokens=0, completion_tokens=progress.tokens)
    before = progress.tokens_before
    if not before:
        return usage
    return Usage(
        prompt_tokens=max(0, usage.prompt_tokens - before),
        completion_tokens=usage.completion_tokens + before,
    )
