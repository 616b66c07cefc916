"""`--scenario all`: short, medium, long and stream, one after another.

Each scenario is a run of its own, with its report in `<report dir>/<scenario>/`; then the
report dir gets a combined `report.json` (each run's report under `runs`, and one verdict)
and `summary.txt` (each scenario's overall row). The suite passes when every run wrote a
report and passed its thresholds. The run itself is passed in (`run_one`), so this module
knows nothing of Locust.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from load_tests.summary import format_suite_summary

SUITE = ("short", "medium", "long", "stream")


@dataclass(frozen=True)
class RunResult:
    code: int  # 0: thresholds passed, 1: one failed, 2: no report written
    interrupted: bool = False  # Ctrl-C: the suite stops after this run


RunOne = Callable[[argparse.Namespace, Path], RunResult]


def run_suite(args: argparse.Namespace, report_dir: Path, run_one: RunOne) -> int:
    """Run each scenario of SUITE with `args`; 0 when all pass, 1 when one fails, 2 when one
    wrote no report (or was not run after a Ctrl-C)."""
    runs: dict[str, dict[str, Any] | None] = dict.fromkeys(SUITE)
    for number, scenario in enumerate(SUITE, start=1):
        print(f"load test: scenario {scenario} ({number}/{len(SUITE)})", flush=True)
        scenario_dir = report_dir / scenario
        result = run_one(argparse.Namespace(**{**vars(args), "scenario": scenario}), scenario_dir)
        report = scenario_dir / "report.json"
        runs[scenario] = json.loads(report.read_text()) if report.exists() else None
        if result.interrupted:
            break
    suite = build_suite_report(runs, args.profile)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "report.json").write_text(json.dumps(suite, indent=2) + "\n")
    summary = format_suite_summary(suite, str(report_dir))
    (report_dir / "summary.txt").write_text(summary + "\n")
    print()
    print(summary)
    if None in runs.values():
        return 2
    return 0 if suite["thresholds"]["passed"] else 1


def build_suite_report(runs: dict[str, dict[str, Any] | None], profile: str) -> dict[str, Any]:
    failed = [name for name, report in runs.items() if not (report and _passed(report))]
    return {
        "scenario": "all",
        "runs": runs,
        "thresholds": {"profile": profile, "passed": not failed, "failed": failed},
    }


def _passed(report: dict[str, Any]) -> bool:
    return bool(report["thresholds"]["passed"])
