"""The requests of a workload scenario (`synthetic`, `shared-prefix`, `multi-turn`, `replay`)
as a load test draws them: from the command line's options to a `WorkloadSource` that hands
out one `PlannedRequest` at a time and takes each answer back (a multi-turn conversation
resends it with its next turn).

A closed-loop run shares one source between the users of a process; an open-loop run makes
a fresh one for each step (and each target, when the engine is measured directly too) from
the same seed, so that every step, and both targets of a step, send the same requests.
Pure: no locust import, seeded `random.Random`.
"""

from __future__ import annotations

import itertools
import random
from argparse import Namespace
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from load_tests.workloads import (
    WORKLOADS,
    ConversationPool,
    Length,
    PlannedRequest,
    Synthetic,
    read_replay,
)

ReplayTiming = Literal["recorded", "rate"]
REPLAY_TIMINGS: tuple[ReplayTiming, ...] = ("recorded", "rate")
DEFAULT_INPUT_LEN = "256"
DEFAULT_OUTPUT_LEN = "128"


@dataclass(frozen=True)
class WorkloadSpec:
    scenario: str  # one of WORKLOADS
    input_len: Length
    output_len: Length
    ignore_eos: bool = True
    prefix_len: int = 0
    prefix_groups: int = 1
    turns: int = 3
    replay: tuple[PlannedRequest, ...] = ()  # the recording's requests (`replay`)
    replay_timing: ReplayTiming = "rate"

    @property
    def recorded_timing(self) -> bool:
        return self.scenario == "replay" and self.replay_timing == "recorded"


def workload_spec(options: Namespace) -> WorkloadSpec | None:
    """From the locustfile's options; None for a dataset scenario. Raises ValueError."""
    if options.scenario not in WORKLOADS:
        return None
    shared = options.scenario == "shared-prefix"
    if shared and options.prefix_len < 1:
        raise ValueError("shared-prefix needs --prefix-len of at least 1")
    if options.prefix_groups < 1 or options.turns < 1:
        raise ValueError("--prefix-groups and --turns must be at least 1")
    replay: tuple[PlannedRequest, ...] = ()
    if options.scenario == "replay":
        if not options.replay:
            raise ValueError("the replay scenario needs --replay PATH")
        replay = tuple(read_replay(Path(options.replay)))
        if options.replay_timing == "recorded":
            replay = tuple(sorted(replay, key=lambda planned: planned.at_s or 0.0))
    spec = WorkloadSpec(
        scenario=options.scenario,
        input_len=Length.parse(options.input_len),
        output_len=Length.parse(options.output_len),
        ignore_eos=not options.no_ignore_eos,
        prefix_len=options.prefix_len if shared else 0,
        prefix_groups=options.prefix_groups,
        turns=options.turns,
        replay=replay,
        replay_timing=options.replay_timing,
    )
    if spec.recorded_timing:
        recorded_offsets(spec.replay)  # refuse a recording without times before any request
    return spec


class WorkloadSource:
    """Hands out a workload's requests in order; `answered` takes each answer back."""

    def __init__(self, spec: WorkloadSpec, rng: random.Random) -> None:
        self.spec = spec
        self._pool: ConversationPool | None = None
        self._synthetic: Synthetic | None = None
        self._replay: Iterator[PlannedRequest] | None = None
        if spec.scenario == "multi-turn":
            self._pool = ConversationPool(
                spec.turns, spec.input_len, spec.output_len, spec.ignore_eos, rng=rng
            )
        elif spec.scenario == "replay":
            self._replay = itertools.cycle(spec.replay)
        else:
            self._synthetic = Synthetic(
                spec.input_len, spec.output_len, spec.ignore_eos,
                prefix_len=spec.prefix_len, groups=spec.prefix_groups, rng=rng,
            )  # fmt: skip

    def next(self) -> PlannedRequest:
        if self._pool is not None:
            return self._pool.next()
        if self._replay is not None:
            planned = next(self._replay)
            # With a recorded budget, ignore_eos makes the engine write all of it.
            if self.spec.ignore_eos and planned.max_tokens is not None:
                return replace(planned, ignore_eos=True)
            return planned
        assert self._synthetic is not None
        return self._synthetic.next()

    def answered(self, planned: PlannedRequest, text: str | None) -> None:
        """The answer's text (None: the request failed)."""
        if self._pool is not None and planned.conversation is not None:
            self._pool.answered(planned.conversation, text)


def step_source(spec: WorkloadSpec, seed: int, step: int) -> WorkloadSource:
    """A fresh source for one open-loop step: the same requests for every target of it."""
    return WorkloadSource(spec, random.Random(seed * 1_000_003 + step))


def recorded_offsets(requests: Sequence[PlannedRequest]) -> tuple[float, ...]:
    """The recording's send times (seconds from its first request), in file order, as an
    open-loop schedule. Raises ValueError when a request has no recorded time."""
    if any(planned.at_s is None for planned in requests):
        raise ValueError(
            "--replay-timing recorded needs a recording with times (the interceptors' "
            "JSONL); plain request bodies have none: use --replay-timing rate"
        )
    return tuple(sorted(float(planned.at_s or 0.0) for planned in requests))


def recorded_window_s(offsets: Sequence[float]) -> float:
    """The measured window of a recorded replay: its span plus one mean gap, so the last
    request is inside it (1 s for a recording of one request)."""
    if len(offsets) < 2 or offsets[-1] <= 0:
        return 1.0
    return offsets[-1] * len(offsets) / (len(offsets) - 1)
