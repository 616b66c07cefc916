"""A workload's source: the same requests for every target of a step, answers handed back,
and a recording's own schedule."""

from __future__ import annotations

import pytest

from load_tests.workload_source import (
    WorkloadSpec,
    recorded_offsets,
    recorded_window_s,
    step_source,
)
from load_tests.workloads import Length, PlannedRequest

SYNTHETIC = WorkloadSpec("synthetic", Length.parse("10"), Length.parse("uniform:4:40"))


def test_a_step_sends_the_same_requests_to_each_target_and_steps_differ() -> None:
    gateway, direct = step_source(SYNTHETIC, 7, 2), step_source(SYNTHETIC, 7, 2)
    first = [gateway.next() for _ in range(5)]
    assert first == [direct.next() for _ in range(5)]
    other_step = step_source(SYNTHETIC, 7, 3)
    assert [other_step.next() for _ in range(5)] != first


def test_multi_turn_answers_come_back_through_the_source() -> None:
    spec = WorkloadSpec("multi-turn", Length.parse("3"), Length.parse("5"), turns=2)
    source = step_source(spec, 0, 0)
    opening = source.next()
    source.answered(opening, "an answer")
    follow_up = source.next()
    assert follow_up.conversation == opening.conversation
    assert follow_up.messages[2] == {"role": "assistant", "content": "an answer"}


def test_replay_keeps_the_recording_and_adds_ignore_eos_only_to_a_set_budget() -> None:
    budgeted = PlannedRequest([{"role": "user", "content": "a"}], 9, at_s=0.0)
    open_ended = PlannedRequest([{"role": "user", "content": "b"}], None, at_s=2.0)
    spec = WorkloadSpec(
        "replay", Length.parse("1"), Length.parse("1"), replay=(budgeted, open_ended)
    )
    source = step_source(spec, 0, 0)
    sent = [source.next() for _ in range(3)]
    assert [p.ignore_eos for p in sent] == [True, False, True]
    assert sent[1] == open_ended


def test_recorded_offsets_and_window() -> None:
    requests = [PlannedRequest([], None, at_s=t) for t in (0.0, 1.0, 3.0)]
    offsets = recorded_offsets(requests)
    assert offsets == (0.0, 1.0, 3.0)
    assert recorded_window_s(offsets) == pytest.approx(4.5)  # the span and one mean gap
    assert recorded_window_s((0.0,)) == 1.0
    with pytest.raises(ValueError, match="needs a recording with times"):
        recorded_offsets([PlannedRequest([], None)])
