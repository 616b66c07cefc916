"""Writes a run's report from Locust's merged statistics, on the master or local runner."""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path
from typing import Any

import locust
from locust.stats import RequestStats

from load_tests.report import StatsRow, build_report
from load_tests.summary import format_summary
from load_tests.sweep_html import render_sweep_html
from load_tests.thresholds import evaluate, load_profile
from load_tests.workloads import WORKLOADS

SWEEP_HTML = "sweep.html"  # an open-loop run's charts, beside report.json


def write_report(
    stats: RequestStats,
    options: Namespace,
    report_dir: Path,
    workers: int,
    sweep: dict[str, Any] | None = None,
    direct: dict[str, Any] | None = None,
) -> bool:
    """Write `report.json` and `summary.txt` (printed unless --no-summary), and for an
    open-loop run `sweep.html`; True when every
    threshold of the profile passes, or for a sweep of several rates (`sweep`, from
    `load_tests.open_loop`) when one of its rates met the objectives. `direct`: the same
    steps against the engine directly (`load_tests.direct_comparison`), reported beside."""
    rows = [
        StatsRow(
            request_type=entry.method or "",
            name=entry.name,
            num_requests=entry.num_requests,
            num_failures=entry.num_failures,
            response_times={float(ms): n for ms, n in entry.response_times.items()},
            max_response_time=float(entry.max_response_time),
            total_response_time=float(entry.total_response_time),
            total_content_length=entry.total_content_length,
        )
        for entry in stats.entries.values()
    ]
    total = stats.total
    duration_s = (
        total.last_request_timestamp - total.start_time if total.last_request_timestamp else 0.0
    )
    profile = load_profile(
        options.load_profile, Path(options.load_test_config), scenario=options.scenario
    )
    config = {
        "scenario": options.scenario,
        "users": options.num_users,
        # --max-requests: a fixed number of requests at `users` concurrency; None: a timed run.
        "requests": options.max_requests or None,
        "spawn_rate": options.spawn_rate,
        "run_time_s": options.run_time,
        "host": options.host,
        "model": options.model,
        "tools_model": options.tools_model or options.model,
        "max_tokens": options.max_tokens or profile.max_tokens,
        "cache_friendly": options.cache_friendly,
        "think_time_s": options.think_time,
        "arrivals": _arrivals(options),
        "workload": _workload(options),
        "direct_url": options.direct_url or None,
        "profile": profile.name,
        "thresholds": profile.thresholds,
        "workers": workers,
        "locust_version": locust.__version__,
    }
    report = build_report(rows, duration_s, config)
    checks = evaluate(report["overall"], profile.thresholds)
    passed = all(check.passed for check in checks)
    report["thresholds"] = {
        "profile": profile.name,
        "passed": passed,
        "checks": [check.as_dict() for check in checks],
    }
    if sweep is not None:
        report["sweep"] = sweep
        if len(sweep["steps"]) > 1:
            # Locust's figures merge every rate: only the sweep's own verdict means anything.
            passed = bool(sweep["passed"])
    if direct is not None:
        report["direct"] = direct
    report["passed"] = passed
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    if sweep is not None:
        (report_dir / SWEEP_HTML).write_text(render_sweep_html(report))
    summary = format_summary(report, checks, str(report_dir))
    (report_dir / "summary.txt").write_text(summary + "\n")
    if not options.no_summary:
        print(summary)
    return passed


def _arrivals(options: Namespace) -> dict[str, Any]:
    if not options.rate and not options.sweep:
        return {"mode": "closed-loop"}
    return {
        "mode": "open-loop",
        "rates": options.sweep or str(options.rate),
        "burstiness": options.burstiness,
        "seed": options.seed,
        "warmup_s": options.warmup,
        "step_duration_s": options.step_duration,
        "sweep_start": options.sweep_start if options.sweep == "auto" else None,
    }


def _workload(options: Namespace) -> dict[str, Any] | None:
    if options.scenario not in WORKLOADS:
        return None
    return {
        "input_len": options.input_len,
        "output_len": options.output_len,
        "ignore_eos": not options.no_ignore_eos,
        "prefix_len": options.prefix_len,
        "prefix_groups": options.prefix_groups,
        "turns": options.turns,
        "replay": options.replay or None,
        "replay_timing": options.replay_timing,
        "seed": options.seed,
    }
