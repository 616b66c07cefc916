"""`python -m load_tests run|ui`: Locust with the inferstack scenarios.

`run` runs Locust headless for a fixed time and writes `load_tests/reports/<timestamp>/`
(report.json, summary.txt, Locust's locust.html and locust_*.csv, and dashboard.png: the
gateway's `/dashboard` as the load ends, when Chromium is installed), prints the summary and
exits 1 when a threshold of the profile fails (2 when no report was written). `ui` starts
Locust's web UI (http://127.0.0.1:8089) with the same options; the report is written when
Locust is stopped (Ctrl-C).

Locust runs as a child process (`python -m locust -f load_tests/locustfile.py`): its import
monkey-patches the standard library with gevent, which this process stays clear of.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from load_tests.dashboard import DashboardScreenshot
from load_tests.prompts import SCENARIOS
from load_tests.report import REPORTS
from load_tests.thresholds import CONFIG, ConfigError, load_profile

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m load_tests", description=__doc__.split("\n")[0]
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    run = modes.add_parser("run", help="headless run with a report and pass/fail")
    ui = modes.add_parser("ui", help="Locust's web UI")
    for mode in (run, ui):
        mode.add_argument("--users", type=int, default=4, help="concurrent users (default 4)")
        mode.add_argument("--spawn-rate", type=float, default=2, help="users started per second")
        mode.add_argument("--scenario", choices=SCENARIOS, default="mixed")
        mode.add_argument("--host", default="http://localhost:8000", help="the gateway")
        mode.add_argument("--model", default="SmolLM2-135M-Instruct")
        mode.add_argument("--tools-model", default="", help="model for `tools` (default --model)")
        mode.add_argument(
            "--cache-friendly", action="store_true", help="same prompts for every user, untagged"
        )
        mode.add_argument("--profile", default="cpu", help="thresholds profile (default cpu)")
        mode.add_argument("--max-tokens", type=int, default=0, help="default: the profile's")
        mode.add_argument(
            "--think-time", type=float, default=0.5, help="max pause between a user's requests"
        )
        mode.add_argument("--config", type=Path, default=CONFIG, help="profiles and thresholds")
        mode.add_argument(
            "--processes", type=int, default=0, help="fork this many Locust workers (-1: per core)"
        )
        mode.add_argument("--report-dir", type=Path, help="default load_tests/reports/<time>")
    run.add_argument("--duration", default="30s", help="run time (30s, 2m, ...)")
    run.add_argument(
        "--no-screenshot", action="store_true", help="no dashboard.png of {host}/dashboard"
    )
    ui.add_argument("--web-host", default="127.0.0.1")
    ui.add_argument("--web-port", type=int, default=8089)
    return parser


def locust_argv(args: argparse.Namespace, report_dir: Path) -> list[str]:
    argv = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE),
        "--host", args.host, "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
        "--scenario", args.scenario, "--model", args.model, "--load-profile", args.profile,
        "--max-tokens", str(args.max_tokens), "--think-time", str(args.think_time),
        "--load-test-config", str(args.config), "--report-dir", str(report_dir),
        "--html", str(report_dir / "locust.html"),
    ]  # fmt: skip
    if args.tools_model:
        argv += ["--tools-model", args.tools_model]
    if args.cache_friendly:
        argv.append("--cache-friendly")
    if args.processes:
        argv += ["--processes", str(args.processes)]
    if args.mode == "run":
        # Users finish the request in flight when the time is up: cutting them off would
        # drop exactly the slowest requests from the percentiles.
        argv += ["--headless", "--run-time", args.duration, "--stop-timeout", "180"]
        argv += ["--csv", str(report_dir / "locust"), "--only-summary", "--no-summary"]
    else:
        argv += ["--web-host", args.web_host, "--web-port", str(args.web_port)]
    return argv


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        load_profile(args.profile, args.config)  # fail before Locust starts
    except ConfigError as error:
        print(f"load test: {error}", file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    report_dir: Path = args.report_dir or REPORTS / stamp
    report_dir.mkdir(parents=True, exist_ok=True)
    if args.mode == "ui":
        print(f"Locust web UI: http://{args.web_host}:{args.web_port} (Ctrl-C writes the report)")
    screenshot = None
    if args.mode == "run" and not args.no_screenshot:
        screenshot = DashboardScreenshot(args.host, report_dir)
        screenshot.open()  # the page must watch the load: it computes rates from its own scrapes
    try:
        code = subprocess.call(locust_argv(args, report_dir))
    except KeyboardInterrupt:
        code = 0  # Locust got the Ctrl-C as well and writes the report as it quits
    report = report_dir / "report.json"
    if not report.exists():
        if screenshot is not None:
            screenshot.cancel()
        print(f"load test: Locust exited with {code} without writing {report}", file=sys.stderr)
        return 2
    png = screenshot.take() if screenshot is not None else None
    summary = report_dir / "summary.txt"
    if png is not None and summary.exists():
        with summary.open("a") as text:
            text.write(f"dashboard: {png}\n")
    if args.mode == "run" and summary.exists():
        print()
        print(summary.read_text(), end="")
    return 0 if json.loads(report.read_text())["thresholds"]["passed"] else 1
