"""Several choices for one request (OpenAI's `n`): one generation per choice, run at once
(engines batch them), their events merged as they come, each tagged with its choice's
index, and reported to the request's tracker as one generation.

A choice that fails ends the whole request (the others are cancelled): a client asked for n
answers, not for as many as happened to work.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, replace

from api_server.chat.events import ChatEvent, Usage
from api_server.chat.sampling import SamplingParams
from api_server.engines.client import EngineReplica
from api_server.errors import EngineError
from api_server.frontdoor.caching import CacheObserver

# Events a slow reader may leave waiting before the generations wait for it.
_BUFFERED_EVENTS = 256


def choice_sampling(sampling: SamplingParams, index: int) -> SamplingParams:
    """Choice `index`'s sampling: a seed given becomes one per choice (seed + index), so
    that the choices differ, as OpenAI's do; without one they differ by chance."""
    if sampling.seed is None or index == 0:
        return sampling
    return replace(sampling, seed=sampling.seed + index)


@dataclass(frozen=True, slots=True)
class ChoiceEvent:
    index: int
    event: ChatEvent


class ChoicesObserver:
    """The generations of `choices` choices, told to `tracker` as one: the first token of
    any, and one completion once all are done, the prompt counted once (it is the same
    prompt) and the completions' tokens summed, as OpenAI counts `n`."""

    def __init__(self, tracker: CacheObserver, choices: int) -> None:
        self.tracker = tracker
        self.choices = choices
        self._first_token_seen = False
        self._cache_told = False
        self._completed = 0
        self._prompt_tokens = 0
        self._completion_tokens = 0

    def engine_chosen(self, replica: EngineReplica) -> None:
        self.tracker.engine_chosen(replica)

    def first_token(self) -> None:
        if not self._first_token_seen:
            self._first_token_seen = True
            self.tracker.first_token()

    def engine_failed(self, replica: EngineReplica, error: EngineError) -> None:
        self.tracker.engine_failed(replica, error)

    def upstream_retried(self, replica: EngineReplica, reason: str) -> None:
        self.tracker.upstream_retried(replica, reason)

    def completed(self, usage: Usage) -> None:
        self._completed += 1
        self._prompt_tokens = max(self._prompt_tokens, usage.prompt_tokens)
        self._completion_tokens += usage.completion_tokens
        if self._completed == self.choices:
            self.tracker.completed(Usage(self._prompt_tokens, self._completion_tokens))

    def cache_consulted(self, outcome: str | None, usage: Usage | None) -> None:
        if not self._cache_told:  # the same answer for every choice
            self._cache_told = True
            self.tracker.cache_consulted(outcome, usage)


async def merged_choices(
    streams: Sequence[AsyncGenerator[ChatEvent, None]],
) -> AsyncGenerator[ChoiceEvent, None]:
    """Every stream's events as they arrive, tagged with the stream's index; the first
    failure is raised here and stops the other streams. Closing this closes them all."""
    queue: asyncio.Queue[ChoiceEvent | BaseException | None] = asyncio.Queue(_BUFFERED_EVENTS)

    async def pump(index: int, stream: AsyncGenerator[ChatEvent, None]) -> None:
        try:
            async for event in stream:
                await queue.put(ChoiceEvent(index, event))
            await queue.put(None)
        except Exception as exc:  # handed to the reader, which raises it
            await queue.put(exc)
        finally:
            await stream.aclose()

    pumps = [asyncio.create_task(pump(index, stream)) for index, stream in enumerate(streams)]
    running = len(pumps)
    try:
        while running:
            item = await queue.get()
            if item is None:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        for task in pumps:
            task.cancel()
        for task in pumps:
            with contextlib.suppress(asyncio.CancelledError):
                await task
