"""`python -m load_tests run|ui`: Locust with the inferstack scenarios.

`run` (the default mode) runs Locust headless, `--users` for `--duration`, or `--requests N`
at `--concurrency C`, and writes `load_tests/reports/<timestamp>/` (report.json, summary.txt,
Locust's locust.html and locust_*.csv, and dashboard.png: the gateway's `/dashboard` as the
load ends, when Chromium is installed), prints the summary and exits 1 when a threshold of
the profile fails (2 when no report was written). `--rate R` sends open-loop arrivals at R
requests/s instead of users; `--sweep 1,2,4|auto` runs several rates and finds the highest
that meets the profile's objectives (exit 1 when none does). `--scenario all` runs short,
medium, long and stream in turn (`load_tests.suite`). `ui` starts Locust's web UI
(http://127.0.0.1:8089) with the same options; the report is written when Locust is stopped
(Ctrl-C).

Locust runs as a child process (`python -m locust -f load_tests/locustfile.py`): its import
monkey-patches the standard library with gevent, which this process stays clear of.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from api_server.errors import InferstackError
from load_tests.dashboard import DashboardScreenshot
from load_tests.direct_request import DIRECT_KINDS, MODELS_FILE, direct_target
from load_tests.prompts import SCENARIOS
from load_tests.report import REPORTS
from load_tests.suite import RunResult, run_suite
from load_tests.sweep import AUTO, parse_rates
from load_tests.thresholds import CONFIG, ConfigError, load_profile
from load_tests.workload_source import DEFAULT_INPUT_LEN, DEFAULT_OUTPUT_LEN, REPLAY_TIMINGS
from load_tests.workloads import WORKLOADS, Length

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
TIMED_RUN = "30s"  # --duration of a --users run
REQUESTS_CAP = "1h"  # a --requests run ends with its N-th request; this only bounds a hang
THINK_TIME = 0.5  # --think-time of a --users run; a --requests run sends back to back
WARMUP_S = 5.0  # --warmup of each open-loop rate
DURATION_PARTS = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _rates(text: str) -> str:
    try:
        parse_rates(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text.strip()


def _above_zero(text: str) -> float:
    number = float(text)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {number:g}")
    return number


def _length(text: str) -> str:
    try:
        Length.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text.strip()


def duration_seconds(text: str) -> float:
    """`30s`, `2m`, `1h30m` or plain seconds, as Locust's --run-time reads them."""
    try:
        return float(text)
    except ValueError:
        pass
    parts = DURATION_PARTS.fullmatch(text.strip())
    if not text.strip() or parts is None:
        raise ValueError(f"not a duration: {text!r} (30s, 2m, 1h30m)")
    hours, minutes, seconds = (int(part or 0) for part in parts.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m load_tests",
        description=__doc__.split("\n")[0],
        epilog="`run` is the default mode: python -m load_tests --requests 100 --concurrency 8",
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    run = modes.add_parser("run", help="headless run with a report and pass/fail")
    ui = modes.add_parser("ui", help="Locust's web UI")
    run.add_argument(
        "--scenario", choices=(*SCENARIOS, "all"), default="mixed",
        help="all: short, medium, long and stream in turn, each in <report-dir>/<scenario>/",
    )  # fmt: skip
    ui.add_argument("--scenario", choices=SCENARIOS, default="mixed")
    for mode in (run, ui):
        mode.add_argument("--users", type=int, default=4, help="concurrent users (default 4)")
        mode.add_argument("--spawn-rate", type=float, default=2, help="users started per second")
        mode.add_argument("--host", default="http://localhost:8000", help="the gateway")
        mode.add_argument("--model", default="SmolLM2-135M-Instruct")
        mode.add_argument("--tools-model", default="", help="model for `tools` (default --model)")
        mode.add_argument(
            "--cache-friendly", action="store_true", help="same prompts for every user, untagged"
        )
        mode.add_argument("--profile", default="cpu", help="thresholds profile (default cpu)")
        mode.add_argument("--max-tokens", type=int, default=0, help="default: the profile's")
        mode.add_argument(
            "--think-time", type=float,
            help=f"max pause between a user's requests (default {THINK_TIME}; --requests: 0)",
        )  # fmt: skip
        mode.add_argument("--config", type=Path, default=CONFIG, help="profiles and thresholds")
        mode.add_argument(
            "--processes", type=int, default=0, help="fork this many Locust workers (-1: per core)"
        )
        mode.add_argument("--report-dir", type=Path, help="default load_tests/reports/<time>")
        _add_workload_options(mode)
    run.add_argument(
        "--duration",
        help=f"run time (30s, 2m, ...; default {TIMED_RUN}; --requests: a {REQUESTS_CAP} cap)",
    )
    run.add_argument(
        "--requests", type=_positive, help="send exactly this many requests, then stop"
    )
    run.add_argument(
        "--concurrency", type=_positive,
        help="--requests: users sending at once, all started together (default --users)",
    )  # fmt: skip
    run.add_argument(
        "--no-screenshot", action="store_true", help="no dashboard.png of {host}/dashboard"
    )
    arrivals = run.add_argument_group(
        "open-loop arrivals", "requests sent on a seeded schedule, however fast answers come"
    )
    arrivals.add_argument(
        "--rate", type=_above_zero, help="requests/s (--duration measured after --warmup)"
    )
    arrivals.add_argument(
        "--sweep", type=_rates, metavar="R1,R2,...|auto",
        help="each rate in turn for --duration; auto: double from --sweep-start until the "
        "profile's objectives fail, then bisect (3 steps)",
    )  # fmt: skip
    arrivals.add_argument(
        "--burstiness", type=_above_zero, default=1.0,
        help="gamma shape of the gaps (1: Poisson, <1 bursty, >1 even; vLLM's --burstiness)",
    )  # fmt: skip
    arrivals.add_argument("--seed", type=int, default=0, help="of the arrival schedule")
    arrivals.add_argument(
        "--warmup", type=float, default=WARMUP_S,
        help=f"seconds sent at each rate before it is measured, discarded (default {WARMUP_S:g})",
    )  # fmt: skip
    arrivals.add_argument(
        "--sweep-start", type=_above_zero, default=1.0, help="--sweep auto: first rate"
    )
    arrivals.add_argument(
        "--repeat", type=_positive, default=1,
        help="runs of each rate (seeds seed, seed+1, ...): figures pooled, each run's spread "
        "(min-max) reported",
    )  # fmt: skip
    direct = run.add_argument_group(
        "the engine directly",
        "each open-loop step of a workload also sent straight to the engine, as the gateway "
        "would send it, and the two compared",
    )
    direct.add_argument("--direct-url", help="the engine's base URL (http://127.0.0.1:8080)")
    direct.add_argument(
        "--direct-kind", choices=DIRECT_KINDS, help="its kind (default: the model's entry's)"
    )
    direct.add_argument(
        "--models-file", type=Path, default=MODELS_FILE,
        help="the gateway's model registry: the prompt format and engine fields come from it",
    )  # fmt: skip
    ui.add_argument("--web-host", default="127.0.0.1")
    ui.add_argument("--web-port", type=int, default=8089)
    ui.set_defaults(
        requests=None, concurrency=None, rate=None, sweep=None, seed=0, direct_url=None
    )  # fmt: skip
    return parser


def _add_workload_options(mode: argparse.ArgumentParser) -> None:
    workloads = mode.add_argument_group(
        "workloads", f"the scenarios {', '.join(WORKLOADS)}: streamed, lengths controlled"
    )
    workloads.add_argument(
        "--input-len", type=_length, default=DEFAULT_INPUT_LEN,
        help="prompt length in words, about as many tokens: 256, uniform:128:512, "
        f"normal:256:32 (default {DEFAULT_INPUT_LEN})",
    )  # fmt: skip
    workloads.add_argument(
        "--output-len", type=_length, default=DEFAULT_OUTPUT_LEN,
        help=f"max_tokens, same syntax (default {DEFAULT_OUTPUT_LEN})",
    )  # fmt: skip
    workloads.add_argument(
        "--prefix-len", type=int, default=0, help="shared-prefix: words of each shared prefix"
    )
    workloads.add_argument(
        "--prefix-groups", type=_positive, default=1, help="shared-prefix: how many prefixes"
    )
    workloads.add_argument(
        "--turns", type=_positive, default=3, help="multi-turn: turns per conversation"
    )
    workloads.add_argument("--replay", type=Path, help="replay: a recording (JSONL)")
    workloads.add_argument(
        "--replay-timing", choices=REPLAY_TIMINGS, default="rate",
        help="replay: recorded = at the recording's own times (open loop, one step); "
        "rate = on the --rate/--sweep schedule, or by users (default)",
    )  # fmt: skip
    workloads.add_argument(
        "--ignore-eos", action=argparse.BooleanOptionalAction, default=True,
        help="ask the engine to write all max_tokens (vLLM's ignore_eos; default on)",
    )  # fmt: skip


def workload_problem(args: argparse.Namespace) -> str | None:
    if args.scenario == "shared-prefix" and args.prefix_len < 1:
        return "--scenario shared-prefix needs --prefix-len N (words of the shared prefix)"
    if args.scenario == "replay" and args.replay is None:
        return "--scenario replay needs --replay PATH"
    if args.replay_timing == "recorded":
        if args.scenario != "replay":
            return "--replay-timing recorded goes with --scenario replay"
        if args.rate is not None or args.sweep is not None:
            return "--replay-timing recorded sends at the recording's times: no --rate, --sweep"
        if args.requests is not None or args.processes:
            return "--replay-timing recorded is one open-loop schedule: no --requests, --processes"
    return None


def direct_problem(args: argparse.Namespace) -> str | None:
    if args.direct_url is None:
        return None
    if args.scenario not in WORKLOADS:
        return f"--direct-url compares a workload ({', '.join(WORKLOADS)}), not {args.scenario}"
    if args.rate is None and args.sweep is None and args.replay_timing != "recorded":
        return "--direct-url compares open-loop steps: give --rate or --sweep"
    try:
        direct_target(args.models_file, args.model, args.direct_url, args.direct_kind or "")
    except ValueError as error:  # pydantic's and the registry's included
        return f"--direct-url: {error}"
    except InferstackError as error:
        return f"--direct-url: {error.message}"
    return None


def workload_argv(args: argparse.Namespace) -> list[str]:
    """The locustfile's workload options (all of them: the defaults live in the cli)."""
    argv = [
        "--input-len", args.input_len, "--output-len", args.output_len,
        "--prefix-len", str(args.prefix_len), "--prefix-groups", str(args.prefix_groups),
        "--turns", str(args.turns), "--replay-timing", args.replay_timing,
        "--seed", str(args.seed),  # of the arrivals and of the workload's requests
    ]  # fmt: skip
    if args.replay is not None:
        argv += ["--replay", str(args.replay)]
    if not args.ignore_eos:
        argv.append("--no-ignore-eos")
    if args.direct_url:
        argv += ["--direct-url", args.direct_url, "--models-file", str(args.models_file)]
        argv += ["--direct-kind", args.direct_kind] if args.direct_kind else []
    return argv


def with_default_mode(argv: list[str]) -> list[str]:
    """`python -m load_tests --requests 100 ...` means `run`, as the older load tester's did."""
    if argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        return ["run", *argv]
    return argv


def mode_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the combination of options, if anything."""
    problem = workload_problem(args) or direct_problem(args)
    if problem is not None:
        return problem
    if args.concurrency is not None and args.requests is None:
        return "--concurrency goes with --requests (a timed run takes --users)"
    if args.requests is not None and args.processes:
        return "--requests counts requests in one process: it cannot be combined with --processes"
    if args.rate is not None or args.sweep is not None:
        if args.rate is not None and args.sweep is not None:
            return "--rate is one open-loop rate, --sweep several: give one of them"
        if args.requests is not None:
            return "--rate and --sweep send on a schedule: they do not take --requests"
        if args.processes:
            return "--rate and --sweep schedule requests in one process: no --processes"
        if args.scenario == "all":
            return "--rate and --sweep run one scenario: not --scenario all"
        if args.duration is not None:
            try:
                duration_seconds(args.duration)
            except ValueError as error:
                return str(error)
    return None


def open_loop_argv(args: argparse.Namespace) -> list[str]:
    """The locustfile's open-loop options: one dispatching user, no run-time (the sweep
    quits Locust when its last rate is done)."""
    if args.replay_timing == "recorded":
        return ["--warmup", "0"]  # the recording is the schedule: one step, as recorded
    if args.rate is None and args.sweep is None:
        return []
    argv = ["--rate", str(args.rate)] if args.rate is not None else ["--sweep", args.sweep]
    return [
        *argv, "--burstiness", str(args.burstiness),
        "--warmup", str(args.warmup), "--sweep-start", str(args.sweep_start),
        "--repeat", str(args.repeat),
        "--step-duration", str(duration_seconds(args.duration or TIMED_RUN)),
    ]  # fmt: skip


def locust_argv(args: argparse.Namespace, report_dir: Path) -> list[str]:
    users, spawn_rate = args.users, args.spawn_rate
    open_loop = open_loop_argv(args)
    if open_loop:
        users, spawn_rate = 1, 1
    if args.requests:
        users = args.concurrency or args.users
        spawn_rate = users  # all at once: the concurrency holds from the first request
    default_think_time = 0.0 if args.requests else THINK_TIME
    think_time = default_think_time if args.think_time is None else args.think_time
    argv = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE),
        "--host", args.host, "--users", str(users), "--spawn-rate", str(spawn_rate),
        "--scenario", args.scenario, "--model", args.model, "--load-profile", args.profile,
        "--max-tokens", str(args.max_tokens), "--think-time", str(think_time),
        "--load-test-config", str(args.config), "--report-dir", str(report_dir),
        "--html", str(report_dir / "locust.html"),
    ]  # fmt: skip
    argv += workload_argv(args)
    if args.tools_model:
        argv += ["--tools-model", args.tools_model]
    if args.cache_friendly:
        argv.append("--cache-friendly")
    if args.processes:
        argv += ["--processes", str(args.processes)]
    if args.requests:
        argv += ["--max-requests", str(args.requests)]
    if open_loop:
        argv += [*open_loop, "--headless", "--stop-timeout", "180"]
        argv += ["--csv", str(report_dir / "locust"), "--only-summary", "--no-summary"]
    elif args.mode == "run":
        duration = args.duration or (REQUESTS_CAP if args.requests else TIMED_RUN)
        # Users finish the request in flight when the time is up: cutting them off would
        # drop exactly the slowest requests from the percentiles.
        argv += ["--headless", "--run-time", duration, "--stop-timeout", "180"]
        argv += ["--csv", str(report_dir / "locust"), "--only-summary", "--no-summary"]
    else:
        argv += ["--web-host", args.web_host, "--web-port", str(args.web_port)]
    return argv


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(with_default_mode(sys.argv[1:] if argv is None else argv))
    problem = mode_problem(args)
    if problem is not None:
        print(f"load test: {problem}", file=sys.stderr)
        return 2
    try:
        profile = load_profile(args.profile, args.config)  # fail before Locust starts
    except ConfigError as error:
        print(f"load test: {error}", file=sys.stderr)
        return 2
    if args.sweep == AUTO and not profile.objectives.limits:
        print(
            f"load test: --sweep auto needs objectives in profile {args.profile!r} "
            f"({args.config}): it looks for the highest rate that meets them",
            file=sys.stderr,
        )
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    report_dir: Path = args.report_dir or REPORTS / stamp
    report_dir.mkdir(parents=True, exist_ok=True)
    if args.mode == "ui":
        print(f"Locust web UI: http://{args.web_host}:{args.web_port} (Ctrl-C writes the report)")
    if args.scenario == "all":
        return run_suite(args, report_dir, run_once)
    return run_once(args, report_dir).code


def run_once(args: argparse.Namespace, report_dir: Path) -> RunResult:
    """One Locust run of one scenario into `report_dir`, its summary printed (`run` mode)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    screenshot = None
    if args.mode == "run" and not args.no_screenshot:
        screenshot = DashboardScreenshot(args.host, report_dir)
        screenshot.open()  # the page must watch the load: it computes rates from its own scrapes
    interrupted = False
    try:
        code = subprocess.call(locust_argv(args, report_dir))
    except KeyboardInterrupt:
        code = 0  # Locust got the Ctrl-C as well and writes the report as it quits
        interrupted = True
    report = report_dir / "report.json"
    if not report.exists():
        if screenshot is not None:
            screenshot.cancel()
        print(f"load test: Locust exited with {code} without writing {report}", file=sys.stderr)
        return RunResult(2, interrupted)
    png = screenshot.take() if screenshot is not None else None
    summary = report_dir / "summary.txt"
    if png is not None and summary.exists():
        with summary.open("a") as text:
            text.write(f"dashboard: {png}\n")
    if args.mode == "run" and summary.exists():
        print()
        print(summary.read_text(), end="")
    figures = json.loads(report.read_text())
    passed = figures.get("passed", figures["thresholds"]["passed"])
    return RunResult(0 if passed else 1, interrupted)
