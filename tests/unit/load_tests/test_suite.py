"""`--scenario all`: each scenario run in turn into its own folder, then one verdict."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from load_tests.report import CHAT, StatsRow, build_report
from load_tests.suite import SUITE, RunResult, run_suite

CONFIG = {
    "users": 2, "requests": None, "model": "m", "host": "http://gw", "max_tokens": 16,
    "cache_friendly": False, "profile": "cpu",
}  # fmt: skip


class FakeRuns:
    """Stands in for one Locust run: writes the report a run of that scenario would."""

    def __init__(
        self,
        failing: frozenset[str] = frozenset(),
        missing: frozenset[str] = frozenset(),
        interrupted_at: str = "",
    ) -> None:
        self.failing, self.missing, self.interrupted_at = failing, missing, interrupted_at
        self.calls: list[tuple[str, Path]] = []

    def __call__(self, args: argparse.Namespace, report_dir: Path) -> RunResult:
        self.calls.append((args.scenario, report_dir))
        if args.scenario not in self.missing:
            row = StatsRow(CHAT, args.scenario, 3, 0, {100.0: 3}, 100.0, 300.0, 0)
            report = build_report([row], 1.0, {**CONFIG, "scenario": args.scenario})
            passed = args.scenario not in self.failing
            report["thresholds"] = {"profile": "cpu", "passed": passed, "checks": []}
            report_dir.mkdir(parents=True)
            (report_dir / "report.json").write_text(json.dumps(report))
        return RunResult(0, interrupted=args.scenario == self.interrupted_at)


def suite_args() -> argparse.Namespace:
    return argparse.Namespace(scenario="all", profile="cpu", users=2, requests=None)


def test_each_scenario_runs_in_turn_into_its_own_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = FakeRuns()
    assert run_suite(suite_args(), tmp_path, runs) == 0
    assert runs.calls == [(name, tmp_path / name) for name in SUITE]
    assert SUITE == ("short", "medium", "long", "stream")
    suite = json.loads((tmp_path / "report.json").read_text())
    assert list(suite["runs"]) == list(SUITE)
    assert suite["runs"]["long"]["config"]["scenario"] == "long"
    assert suite["thresholds"] == {"profile": "cpu", "passed": True, "failed": []}
    summary = (tmp_path / "summary.txt").read_text()
    assert summary.startswith("load test · scenario all (short, medium, long, stream) · 2 users")
    assert "thresholds (profile cpu): PASS" in summary
    assert summary in capsys.readouterr().out + "\n"


def test_one_failed_scenario_fails_the_suite(tmp_path: Path) -> None:
    assert run_suite(suite_args(), tmp_path, FakeRuns(failing=frozenset({"medium"}))) == 1
    suite = json.loads((tmp_path / "report.json").read_text())
    assert suite["thresholds"]["passed"] is False
    assert suite["thresholds"]["failed"] == ["medium"]
    assert "  FAIL medium" in (tmp_path / "summary.txt").read_text().splitlines()


def test_a_scenario_without_a_report_fails_the_suite_with_2(tmp_path: Path) -> None:
    runs = FakeRuns(missing=frozenset({"long"}))
    assert run_suite(suite_args(), tmp_path, runs) == 2
    assert [name for name, _ in runs.calls] == list(SUITE)  # the others still ran
    suite = json.loads((tmp_path / "report.json").read_text())
    assert suite["runs"]["long"] is None
    assert suite["thresholds"]["failed"] == ["long"]


def test_ctrl_c_stops_the_suite_after_the_interrupted_run(tmp_path: Path) -> None:
    runs = FakeRuns(interrupted_at="medium")
    assert run_suite(suite_args(), tmp_path, runs) == 2
    assert [name for name, _ in runs.calls] == ["short", "medium"]
    suite = json.loads((tmp_path / "report.json").read_text())
    assert suite["runs"]["long"] is None
    assert suite["thresholds"]["failed"] == ["long", "stream"]
