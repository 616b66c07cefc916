"""Open-loop arrivals inside the Locust process: requests sent on a seeded schedule, each in
its own greenlet, whatever the answers before it are doing (no coordinated omission).

One dispatching user runs the steps of a sweep (a single `--rate` is a sweep of one step):
for each rate it sends the warm-up and the measured window on schedule, waits for the
answers still in flight, and turns the records into the step's figures. How late each send
was against its schedule, and the client's CPU, are recorded so a saturated client shows.

It runs under gevent (Locust's monkey-patched standard library); the computations it calls
(`arrivals`, `step_figures`, `sweep`) are pure modules.
"""

from __future__ import annotations

import time
from argparse import Namespace
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import gevent  # type: ignore[import-untyped]
import gevent.pool  # type: ignore[import-untyped]
import psutil  # type: ignore[import-untyped]  # comes with locust

from load_tests.arrivals import arrival_offsets
from load_tests.objectives import Objectives
from load_tests.progress import StepProgress
from load_tests.request_record import Answer, RequestRecord
from load_tests.step_figures import StepPlan, step_figures
from load_tests.sweep import AutoSweep, next_auto_rate, parse_rates, sweep_section, verdict_of
from load_tests.workload_source import recorded_window_s

SendRequest = Callable[[], Answer]
Target = Literal["gateway", "direct"]
GATEWAY: Target = "gateway"
DIRECT: Target = "direct"


@dataclass(frozen=True)
class OpenLoopSettings:
    rates: tuple[float, ...] | None  # None: find them (`auto`)
    auto: AutoSweep
    window_s: float  # each step's measured window
    warmup_s: float  # sent at the step's rate before the window, then discarded
    burstiness: float
    seed: int
    max_samples: int = 1000  # per-request rows kept in report.json, per step
    repeats: int = 1  # runs of each rate (other seeds), pooled, with their spread
    # A replay at its recorded times: the one step's schedule (seconds from the first).
    recorded: tuple[float, ...] | None = None

    @property
    def single_rate(self) -> bool:
        return self.rates is not None and len(self.rates) == 1


def open_loop_settings(
    options: Namespace, recorded: tuple[float, ...] | None = None
) -> OpenLoopSettings | None:
    """From the locustfile's options; None for a closed-loop run. `recorded`: a replay's
    send times, sent as they were (one step, no warm-up). Raises ValueError."""
    if recorded is not None:
        if options.rate or options.sweep:
            raise ValueError("--replay-timing recorded sends at the recording's times: no --rate")
        window = recorded_window_s(recorded)
        return OpenLoopSettings(
            rates=(round(len(recorded) / window, 3),), auto=AutoSweep(), window_s=window,
            warmup_s=0.0, burstiness=0.0, seed=options.seed, recorded=recorded,
        )  # fmt: skip
    if not options.rate and not options.sweep:
        return None
    if options.rate and options.sweep:
        raise ValueError("--rate is one open-loop step, --sweep several: give one of them")
    rates = (options.rate,) if options.rate else parse_rates(options.sweep)
    if options.step_duration <= 0 or options.warmup < 0 or options.repeat < 1:
        raise ValueError(
            "--step-duration must be above 0, --warmup at least 0 and --repeat at least 1"
        )
    return OpenLoopSettings(
        rates=None if rates is None else tuple(rates),
        auto=AutoSweep(start_rate=options.sweep_start),
        window_s=options.step_duration,
        warmup_s=options.warmup,
        burstiness=options.burstiness,
        seed=options.seed,
        repeats=options.repeat,
    )


class WindowProbe(Protocol):
    """Something read as a step's measured window opens and once its last answer is in
    (the gateway's /metrics): `end` returns what goes in the step's figures, or None."""

    def start(self) -> None: ...
    def end(self) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class SweepResult:
    sweep: dict[str, Any]  # report.json's `sweep`: the gateway's steps
    direct_steps: list[dict[str, Any]]  # the engine's, measured directly (empty without)


def run_sweep(
    send_for_step: Callable[[Target, int], SendRequest],
    settings: OpenLoopSettings,
    objectives: Objectives,
    on_window_start: Callable[[], None] | None = None,
    progress: Callable[[str], None] = print,
    step_progress: Callable[[str, float], StepProgress] | None = StepProgress,
    direct: bool = False,
    probe: WindowProbe | None = None,
) -> SweepResult:
    """Every step of the sweep, one after another. `send_for_step(target, i)` sends one
    request of step i to the gateway or, with `direct`, to the engine directly too: each
    step then runs both targets one after the other, the first alternating step by step
    (neither always runs on a fresher engine). The gateway's steps decide an auto sweep;
    `on_window_start` and `probe` are the gateway's alone."""
    steps: list[dict[str, Any]] = []
    direct_steps: list[dict[str, Any]] = []
    started = time.perf_counter()
    total = f"{len(settings.rates)}" if settings.rates is not None else f"≤{_auto_bound(settings)}"
    while True:
        rate = _next_rate(settings, steps)
        if rate is None:
            break
        index = len(steps)
        plan = StepPlan(
            rate, settings.warmup_s, settings.window_s, settings.burstiness, settings.seed,
            settings.recorded,
        )  # fmt: skip
        targets: tuple[Target, ...] = (GATEWAY, DIRECT) if index % 2 == 0 else (DIRECT, GATEWAY)
        for position, target in enumerate((t for t in targets if direct or t == GATEWAY), 1):
            label = f"step {index + 1}/{total} · {rate:g} req/s" + (
                f" · {target}" if direct else ""
            )
            gateway = target == GATEWAY
            schedule_s = (settings.warmup_s + settings.window_s) * settings.repeats
            bar = step_progress(label, schedule_s) if step_progress is not None else None
            if bar is None or not bar.live:
                progress(f"{label} · sending")
            step = run_step(
                plan, send_for_step(target, index), objectives, settings.max_samples,
                on_window_start if gateway else None, probe if gateway else None,
                settings.repeats, bar,
            )  # fmt: skip
            step["ran"] = position
            (steps if gateway else direct_steps).append(step)
            verdict = "met" if step["met_objectives"] else "missed"
            progress(
                f"{label} · {time.perf_counter() - started:.0f} s elapsed · "
                f"{step['requests']} requests done · goodput {step['goodput_per_s']:.2f}/s · "
                f"objectives {verdict}"
            )
    return SweepResult(sweep_section(steps, settings.rates, objectives), direct_steps)


def run_step(
    plan: StepPlan,
    send: SendRequest,
    objectives: Objectives,
    max_samples: int,
    on_window_start: Callable[[], None] | None = None,
    probe: WindowProbe | None = None,
    repeats: int = 1,
    progress: StepProgress | None = None,
) -> dict[str, Any]:
    """Send one step's schedule `repeats` times (run k with seed + k: other arrivals at the
    same rate), wait for the answers, and return the figures of them all, with each run's
    spread. `on_window_start` and `probe` go with the first run's window; the probe's end
    comes after the last run."""
    process = psutil.Process()
    cpu_before, wall_before = _cpu_s(process), time.perf_counter()
    scrapes = gevent.pool.Group()

    def window_opens() -> None:
        if on_window_start is not None:
            on_window_start()
        if probe is not None:
            scrapes.spawn(probe.start)  # in its own greenlet: the schedule does not wait

    records: list[RequestRecord] = []
    counts = _Counts()
    ticker = gevent.spawn(_tick_every_second, progress, counts) if progress else None
    for repeat in range(repeats):
        run = replace(plan, seed=plan.seed + repeat)
        records += _send_schedule(run, send, repeat, window_opens if repeat == 0 else None, counts)
    if ticker is not None and progress is not None:
        ticker.kill()
        progress.done()
    cpu_percent = 100 * (_cpu_s(process) - cpu_before) / (time.perf_counter() - wall_before)
    figures = step_figures(plan, records, objectives, cpu_percent, max_samples, repeats)
    if probe is not None:
        scrapes.join()
        figures["server"] = probe.end()
    return figures


@dataclass
class _Counts:
    """A step's requests so far, for its progress bar."""

    started: float = field(default_factory=time.perf_counter)
    sent: int = 0
    answered: int = 0


def _tick_every_second(progress: StepProgress, counts: _Counts) -> None:
    while True:
        progress.tick(time.perf_counter() - counts.started, counts.sent, counts.answered)
        gevent.sleep(1.0)


def _send_schedule(
    plan: StepPlan,
    send: SendRequest,
    repeat: int,
    window_opens: Callable[[], None] | None,
    counts: _Counts,
) -> list[RequestRecord]:
    """One run of a step: its warm-up and window sent on schedule, every answer waited for."""
    offsets = plan.recorded or arrival_offsets(
        plan.rate, plan.warmup_s + plan.window_s, plan.burstiness, plan.seed
    )
    records: list[RequestRecord] = []
    in_flight = gevent.pool.Group()
    window_start = time.perf_counter() + plan.warmup_s
    window_hook = window_opens  # called once, as the window opens

    def one_request(scheduled_s: float) -> None:
        sent_s = time.perf_counter() - window_start
        counts.sent += 1
        try:
            answer = send()
        except Exception as error:  # a bug in the request code: count it, keep the step going
            answer = Answer(ok=False, error=f"client error: {error!r}")
        done_s = time.perf_counter() - window_start
        counts.answered += 1
        records.append(RequestRecord(scheduled_s, sent_s, done_s, answer, repeat))

    for offset in offsets:
        scheduled_s = offset - plan.warmup_s
        if window_hook is not None and scheduled_s >= 0:
            _sleep_until(window_start)
            window_hook()
            window_hook = None
        _sleep_until(window_start + scheduled_s)
        in_flight.spawn(one_request, scheduled_s)
    if window_hook is not None:
        _sleep_until(window_start)
        window_hook()
    _sleep_until(window_start + plan.window_s)  # the window lasts its length, sends or not
    in_flight.join()  # each request ends by its own timeout: nothing here cuts one short
    return records


def _next_rate(settings: OpenLoopSettings, steps: list[dict[str, Any]]) -> float | None:
    if settings.rates is not None:
        return settings.rates[len(steps)] if len(steps) < len(settings.rates) else None
    return next_auto_rate([verdict_of(step) for step in steps], settings.auto)


def _auto_bound(settings: OpenLoopSettings) -> int:
    return settings.auto.max_doublings + 1 + settings.auto.bisect_steps


def _sleep_until(deadline: float) -> None:
    delay = deadline - time.perf_counter()
    if delay > 0:
        gevent.sleep(delay)


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)
