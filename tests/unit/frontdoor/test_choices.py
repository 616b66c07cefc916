"""Merging the choices' generations: every event once, tagged with its choice, as it comes;
a failure of one stops and closes the others; one completion told to the tracker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from api_server.chat.events import ChatEvent, Finished, TextDelta, Usage
from api_server.errors import EngineUnavailableError
from api_server.frontdoor.choices import ChoiceEvent, ChoicesObserver, merged_choices


async def _texts(*texts: str, gate: asyncio.Event | None = None) -> AsyncGenerator[ChatEvent, None]:
    for text in texts:
        if gate is not None:
            await gate.wait()
        yield TextDelta(text)
    yield Finished("stop", Usage(5, len(texts)))


async def test_every_event_once_tagged_with_its_choice() -> None:
    merged = [e async for e in merged_choices([_texts("a", "b"), _texts("c")])]
    by_choice = {index: [e.event for e in merged if e.index == index] for index in (0, 1)}
    assert by_choice == {
        0: [TextDelta("a"), TextDelta("b"), Finished("stop", Usage(5, 2))],
        1: [TextDelta("c"), Finished("stop", Usage(5, 1))],
    }


async def test_events_come_as_they_arrive_not_choice_by_choice() -> None:
    gate = asyncio.Event()
    merged = merged_choices([_texts("slow", gate=gate), _texts("fast")])
    first = await anext(merged)
    assert first == ChoiceEvent(1, TextDelta("fast"))  # choice 0 is still waiting
    gate.set()
    rest = [e async for e in merged]
    assert ChoiceEvent(0, TextDelta("slow")) in rest


async def test_a_failure_stops_and_closes_the_other_choices() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncGenerator[ChatEvent, None]:
        try:
            while True:
                yield TextDelta("more")
                await asyncio.sleep(0.001)
        finally:
            closed.set()

    async def failing() -> AsyncGenerator[ChatEvent, None]:
        yield TextDelta("x")
        raise EngineUnavailableError("engine down")

    with pytest.raises(EngineUnavailableError):
        async for _ in merged_choices([endless(), failing()]):
            pass
    assert closed.is_set()


class _Tracker:
    def __init__(self) -> None:
        self.first_tokens = 0
        self.completions: list[Usage] = []
        self.cache: list[str | None] = []

    affinity = None

    def engine_chosen(self, replica: object) -> None: ...
    def engine_failed(self, replica: object, error: object) -> None: ...
    def engine_failed_over(self, replica: object, kind: str) -> None: ...
    def upstream_retried(self, replica: object, reason: str) -> None: ...

    def first_token(self) -> None:
        self.first_tokens += 1

    def completed(self, usage: Usage) -> None:
        self.completions.append(usage)

    def cache_consulted(self, outcome: str | None, usage: Usage | None) -> None:
        self.cache.append(outcome)


def test_the_tracker_hears_of_one_generation() -> None:
    tracker = _Tracker()
    observer = ChoicesObserver(tracker, 3)  # type: ignore[arg-type]
    for index, usage in reversed(list(enumerate((Usage(7, 3), Usage(7, 4), Usage(7, 5))))):
        member = observer.member(index)
        member.first_token()
        member.cache_consulted("bypass", None)
        assert tracker.completions == []  # not before every choice is done
        member.completed(usage)
    assert tracker.first_tokens == 1 and tracker.cache == ["bypass"]
    assert tracker.completions == [Usage(7, 12)]  # the prompt once


def test_several_prompts_count_each_prompt_once() -> None:
    tracker = _Tracker()
    observer = ChoicesObserver(tracker, 4, per_prompt=2)  # type: ignore[arg-type]
    for index, usage in enumerate((Usage(7, 1), Usage(7, 2), Usage(9, 3), Usage(9, 4))):
        observer.member(index).completed(usage)
    assert tracker.completions == [Usage(16, 10)]
