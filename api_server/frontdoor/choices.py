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

from api_server.chat.events import ChatEvent, Finished, Usage
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


def choice_completes(choice_event: ChoiceEvent) -> bool:
    """A merged stream's last event shows every choice complete (merged_choices raises
    for one that is not)."""
    return isinstance(choice_event.event, Finished)


def summed_usage(usages: Sequence[Usage], per_prompt: int | None = None) -> Usage:
    """The usage of several generations of one request, as OpenAI counts `n` and `best_of`:
    each prompt once (`per_prompt`: how many consecutive generations share one; None: all
    share the one), every completion."""
    per_prompt = per_prompt or len(usages)
    firsts = range(0, len(usages), per_prompt)
    return Usage(
        sum(max(u.prompt_tokens for u in usages[first : first + per_prompt]) for first in firsts),
        sum(usage.completion_tokens for usage in usages),
    )


class ChoicesObserver:
    """The generations of one request, told to `tracker` as one: the first token of any,
    and one completion once all are done (summed_usage). Each generation reports to its own
    `member(index)`."""

    def __init__(
        self, tracker: CacheObserver, generations: int, per_prompt: int | None = None
    ) -> None:
        self.tracker = tracker
        self.per_prompt = per_prompt
        self._usages: list[Usage | None] = [None] * generations
        self._first_token_seen = False
        self._cache_told = False

    def member(self, index: int) -> CacheObserver:
        return _Member(self, index)

    def first_token(self) -> None:
        if not self._first_token_seen:
            self._first_token_seen = True
            self.tracker.first_token()

    def completed(self, index: int, usage: Usage) -> None:
        self._usages[index] = usage
        done = [usage for usage in self._usages if usage is not None]
        if len(done) == len(self._usages):
            self.tracker.completed(summed_usage(done, self.per_prompt))

    def cache_consulted(self, outcome: str | None, usage: Usage | None) -> None:
        if not self._cache_told:  # the same answer for every generation
            self._cache_told = True
            self.tracker.cache_consulted(outcome, usage)


class _Member:
    """One generation's observer: everything goes to the request's tracker as it comes,
    but the first token and the completion, which wait for the others."""

    def __init__(self, group: ChoicesObserver, index: int) -> None:
        self.group = group
        self.index = index

    @property
    def affinity(self) -> str | None:
        return self.group.tracker.affinity

    def engine_chosen(self, replica: EngineReplica) -> None:
        self.group.tracker.engine_chosen(replica)

    def first_token(self) -> None:
        self.group.first_token()

    def engine_failed(self, replica: EngineReplica, error: EngineError) -> None:
        self.group.tracker.engine_failed(replica, error)

    def engine_failed_over(self, replica: EngineReplica, kind: str) -> None:
        self.group.tracker.engine_failed_over(replica, kind)

    def upstream_retried(self, replica: EngineReplica, reason: str) -> None:
        self.group.tracker.upstream_retried(replica, reason)

    def completed(self, usage: Usage) -> None:
        self.group.completed(self.index, usage)

    def cache_consulted(self, outcome: str | None, usage: Usage | None) -> None:
        self.group.cache_consulted(outcome, usage)


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
