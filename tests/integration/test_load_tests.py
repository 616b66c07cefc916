"""`python -m load_tests run` against the session's gateway: the fake engine answers at once,
so a few seconds of load give every figure of the report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from load_tests.browser import chromium_binary
from tests.integration.services import REPO

pytestmark = pytest.mark.integration


def load_test(gateway_url: str, report_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [
        sys.executable, "-m", "load_tests", "run", "--host", gateway_url,
        "--model", "fake-echo", "--tools-model", "fake-hermes", "--spawn-rate", "10",
        "--think-time", "0.02", "--report-dir", str(report_dir), *extra,
    ]  # fmt: skip
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60)


def test_a_distributed_mixed_run_fills_every_figure(gateway_url: str, tmp_path: Path) -> None:
    # Two forked Locust workers: the figures must come out of Locust's merged statistics.
    run = load_test(gateway_url, tmp_path, "--users", "2", "--duration", "3s", "--processes", "2")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["config"]["workers"] == 2
    assert report["config"]["model"] == "fake-echo"
    assert report["thresholds"]["passed"] is True
    assert set(report["scenarios"]) == {"short", "medium", "long", "stream", "tools"}
    for name, figures in [*report["scenarios"].items(), ("overall", report["overall"])]:
        assert figures["requests"] > 0, name
        assert figures["failures"] == 0, name
        assert figures["error_rate"] == 0, name
        assert figures["requests_per_s"] > 0, name
        assert None not in figures["latency_ms"].values(), name
        assert set(figures["latency_ms"]) == {"p50", "p90", "p95", "p99", "max", "avg"}
        assert figures["output_tokens"] > 0, name
        assert figures["output_tokens_per_s"] > 0, name
    for name in ("stream", "overall"):
        figures = report["scenarios"].get(name, report["overall"])
        assert set(figures["ttft_ms"]) == {"p50", "p95", "p99"}
        assert None not in figures["ttft_ms"].values()
        assert None not in figures["itl_ms"].values()
    assert report["scenarios"]["tools"]["tool_call_rate"] is not None

    assert "thresholds (profile cpu): PASS" in run.stdout
    assert "overall" in run.stdout
    assert (tmp_path / "summary.txt").read_text() in run.stdout
    assert (tmp_path / "locust.html").stat().st_size > 0
    assert "stream" in (tmp_path / "locust_stats.csv").read_text()
    # The gateway's /dashboard, watched during the load and captured as it ends.
    if chromium_binary() is None:
        assert "no chromium: dashboard screenshot skipped" in run.stdout
    else:
        png = tmp_path / "dashboard.png"
        assert png.read_bytes().startswith(b"\x89PNG"), run.stderr[-3000:]
        assert f"dashboard: {png}" in run.stdout.splitlines()[-1]


def test_a_failed_threshold_exits_non_zero(gateway_url: str, tmp_path: Path) -> None:
    config = tmp_path / "load_test.yaml"
    config.write_text(
        "profiles:\n  strict:\n    max_tokens: 8\n"
        "    thresholds: {latency_p50_ms: 0.001, error_rate: 0.001}\n"
    )
    report_dir = tmp_path / "report"
    run = load_test(
        gateway_url, report_dir, "--users", "1", "--duration", "2s", "--scenario", "short",
        "--config", str(config), "--profile", "strict", "--no-screenshot",
    )  # fmt: skip
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
    assert "thresholds (profile strict): FAIL" in run.stdout
    assert "FAIL latency_p50_ms" in run.stdout
    assert "ok   error_rate" in run.stdout
    report = json.loads((report_dir / "report.json").read_text())
    assert report["config"]["max_tokens"] == 8
    assert report["thresholds"]["passed"] is False
    assert not (report_dir / "dashboard.png").exists()
    assert "dashboard" not in run.stdout


def test_a_fixed_count_of_requests_for_each_scenario_in_turn(
    gateway_url: str, tmp_path: Path
) -> None:
    # 13 requests from 4 users at once: counted as they start, so none beyond the 13th.
    run = load_test(
        gateway_url, tmp_path, "--requests", "13", "--concurrency", "4", "--scenario", "all",
        "--no-screenshot",
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    suite = json.loads((tmp_path / "report.json").read_text())
    assert list(suite["runs"]) == ["short", "medium", "long", "stream"]
    assert suite["thresholds"]["passed"] is True
    for name, report in suite["runs"].items():
        assert report["config"]["requests"] == 13, name
        assert report["config"]["users"] == 4, name
        assert report["config"]["think_time_s"] == 0.02, name  # the helper's, kept over 0
        assert report["overall"]["requests"] == 13, name
        assert (
            (tmp_path / name / "summary.txt")
            .read_text()
            .startswith(f"load test · scenario {name} · 13 requests at concurrency 4 · ")
        )
    summary = (tmp_path / "summary.txt").read_text()
    assert summary in run.stdout + "\n"
    assert "thresholds (profile cpu): PASS" in summary.splitlines()
