"""What each llama-server replica did, from its Prometheus counters: the prompt tokens it
computed (a prefix found in its cache is not computed again) and those it found cached."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx

_COMPUTED = "llamacpp:prompt_tokens_total"
_CACHED = "llamacpp:prompt_tokens_cached_total"


@dataclass(frozen=True)
class PromptTokens:
    computed: int = 0
    cached: int = 0

    def __sub__(self, earlier: PromptTokens) -> PromptTokens:
        return PromptTokens(self.computed - earlier.computed, self.cached - earlier.cached)

    def __add__(self, other: PromptTokens) -> PromptTokens:
        return PromptTokens(self.computed + other.computed, self.cached + other.cached)


def parse_prompt_tokens(metrics_text: str) -> PromptTokens:
    values = {}
    for line in metrics_text.splitlines():
        name, _, value = line.partition(" ")
        if name in (_COMPUTED, _CACHED):
            values[name] = int(float(value))
    return PromptTokens(values.get(_COMPUTED, 0), values.get(_CACHED, 0))


async def prompt_tokens(engine_urls: Sequence[str]) -> list[PromptTokens]:
    """Each replica's counters now, in the order of `engine_urls`."""
    async with httpx.AsyncClient(timeout=30) as client:
        texts = [(await client.get(f"{url}/metrics")).text for url in engine_urls]
    return [parse_prompt_tokens(text) for text in texts]
