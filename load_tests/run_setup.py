"""What a run attaches to Locust's `Environment` as it starts (`events.init`), read back by
the users with `attached`: the request budget (--max-requests), the workload and its shared
source, and the open-loop settings. Each refuses, by raising, a combination Locust cannot run
(Locust then exits 1 before any request)."""

from __future__ import annotations

import random
from typing import Any, TypeVar

from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from load_tests.open_loop import open_loop_settings
from load_tests.request_budget import RequestBudget
from load_tests.workload_source import (
    WorkloadSource,
    WorkloadSpec,
    recorded_offsets,
    workload_spec,
)

T = TypeVar("T")


def attached(environment: Environment, name: str, kind: type[T]) -> T | None:
    """What a set-up hook attached to the environment as `name`; None where it did not
    (a closed-loop run has no open-loop settings, a run without a cap no budget)."""
    value = getattr(environment, name, None)
    return value if isinstance(value, kind) else None


def set_up_open_loop(environment: Environment, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    # An exception here makes Locust exit 1 before any request.
    spec = attached(environment, "workload", WorkloadSpec)
    recorded = recorded_offsets(spec.replay) if spec is not None and spec.recorded_timing else None
    settings = open_loop_settings(options, recorded)
    if settings is None:
        return
    if isinstance(environment.runner, MasterRunner | WorkerRunner):
        raise RuntimeError("open-loop arrivals are scheduled in one process: run without workers")
    if options.num_users != 1 or options.max_requests:
        raise RuntimeError("open-loop arrivals need exactly one user (-u 1) and no --max-requests")
    environment.open_loop = settings  # type: ignore[attr-defined]


def set_up_workload(environment: Environment, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    spec = workload_spec(options)  # ValueError: Locust exits 1 before any request
    if spec is None:
        return
    environment.workload = spec  # type: ignore[attr-defined]
    # Workers draw from differently seeded sources: the same prompts twice would be cached.
    index = environment.runner.worker_index if isinstance(environment.runner, WorkerRunner) else 0
    rng = random.Random(options.seed * 1_000_003 + 500_000 + index)
    environment.workload_source = WorkloadSource(spec, rng)  # type: ignore[attr-defined]


def set_up_budget(environment: Environment, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is None or not options.max_requests:
        return
    if isinstance(environment.runner, MasterRunner | WorkerRunner):
        # Each worker would count its own N; an exception here makes Locust exit 1.
        raise RuntimeError("--max-requests counts in one process: run without workers")
    environment.request_budget = RequestBudget(options.max_requests)  # type: ignore[attr-defined]
