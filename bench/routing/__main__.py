"""`python -m bench.routing`: run the chosen parts, print a table each, write the report."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import bench.routing
from bench.routing.failover import FailoverResult, measure_failover
from bench.routing.fairness import FairnessResult, create_key, measure_fairness
from bench.routing.prefix import PolicyRun, measure_prefix
from bench.routing.stack import (
    ENGINES,
    THREADS_PER_REPLICA,
    StackOptions,
    gateway_url,
    kill_engine,
    own_gateway,
    replica_stack,
)
from stackctl.api import NativeStack

RESULTS_DIR = Path(__file__).parent.parent / "results"
PARTS = ("failover", "prefix", "fairness")
POLICIES = ("least_busy", "prefix")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.routing",
        description=bench.routing.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only", default=",".join(PARTS), help="comma-separated: failover,prefix,fairness"
    )
    parser.add_argument("--workers", type=int, default=2, help="gateway processes (2)")
    parser.add_argument("--rounds", type=int, default=2, help="prefix and fairness rounds (2)")
    failover = parser.add_argument_group("(a) failover")
    failover.add_argument("--failover-streams", type=int, default=50)
    failover.add_argument("--failover-max-tokens", type=int, default=64)
    failover.add_argument(
        "--failover-parallel",
        type=int,
        default=1,
        help="slots per replica (1: llama.cpp's greedy answers depend on the batch otherwise)",
    )
    failover.add_argument(
        "--kill-after-chunks", type=int, default=8, help="text chunks in all before the kill"
    )
    prefix = parser.add_argument_group("(b) prefix-aware routing")
    prefix.add_argument("--conversations", type=int, default=8)
    prefix.add_argument("--turns", type=int, default=10)
    prefix.add_argument("--prefix-max-tokens", type=int, default=48)
    prefix.add_argument("--prefix-parallel", type=int, default=4, help="slots per replica")
    fairness = parser.add_argument_group("(c) fairness")
    fairness.add_argument("--light-requests", type=int, default=30, help="per run")
    fairness.add_argument("--light-concurrency", type=int, default=1)
    fairness.add_argument("--heavy-factor", type=int, default=10)
    fairness.add_argument("--fairness-max-tokens", type=int, default=16)
    fairness.add_argument("--fairness-parallel", type=int, default=4, help="slots per replica")
    return parser


def run_failover(args: argparse.Namespace, folder: Path) -> FailoverResult:
    options = StackOptions(parallel=args.failover_parallel, workers=args.workers)
    with replica_stack(folder, options) as stack:
        result = asyncio.run(
            measure_failover(
                gateway_url(stack),
                lambda: kill_engine(stack, "engine"),
                streams=args.failover_streams,
                max_tokens=args.failover_max_tokens,
                kill_after_chunks=args.kill_after_chunks,
            )
        )
    print_table([result.row()], result.errors)
    return result


async def _prefix_side_by_side(
    args: argparse.Namespace, stack: NativeStack, folder: Path
) -> list[PolicyRun]:
    async with (
        own_gateway(stack, "least_busy", folder, {"INFERSTACK_ROUTING_POLICY": "least_busy"}) as a,
        own_gateway(stack, "prefix", folder, {"INFERSTACK_ROUTING_POLICY": "prefix"}) as b,
    ):
        return await measure_prefix(
            {"least_busy": a, "prefix": b},
            [stack.url(engine) for engine in ENGINES],
            rounds=args.rounds,
            conversations=args.conversations,
            turns=args.turns,
            max_tokens=args.prefix_max_tokens,
        )


def run_prefix(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    # The engines only: two gateways of the bench's own run side by side on them.
    options = StackOptions(parallel=args.prefix_parallel, workers=args.workers, gateway=False)
    with replica_stack(folder, options) as stack:
        runs = asyncio.run(_prefix_side_by_side(args, stack, folder))
    print_table([run.row() for run in runs])
    by_policy = {run.policy: run for run in runs}
    least, prefix = by_policy["least_busy"], by_policy["prefix"]
    ratios = {
        "ttft_p50": _ratio(prefix.ttft_p50_s, least.ttft_p50_s),
        "ttft_p95": _ratio(prefix.ttft_p95_s, least.ttft_p95_s),
        "tokens_per_s": _ratio(prefix.tokens_per_s, least.tokens_per_s),
    }
    print("prefix / least_busy: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items() if v))
    return {
        "policies": [run.report() for run in runs],
        "prefix_over_least_busy": ratios,
    }


def print_table(rows: list[dict[str, object]], errors: Sequence[str] = ()) -> None:
    """Columns as wide as their header or widest value; text left, numbers right."""
    headers = list(rows[0])
    text = [isinstance(value, str) for value in rows[0].values()]
    cells = [[_cell(value) for value in row.values()] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if left else v.rjust(w)
            for v, w, left in zip(values, widths, text, strict=True)
        ).rstrip()

    print(line(headers))
    for row in cells:
        print(line(row))
    for error in errors:
        print(f"  error: {error[:160]}")


def _cell(value: object) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return numerator / denominator if numerator is not None and denominator else None


def run_fairness(args: argparse.Namespace, folder: Path) -> FairnessResult:
    options = StackOptions(
        parallel=args.fairness_parallel,
        workers=args.workers,
        settings={"INFERSTACK_AUTH_MODE": "api_key"},
    )
    with replica_stack(folder, options) as stack:
        env = stack.env("gateway")
        light, heavy = create_key(env, "bench-light"), create_key(env, "bench-heavy")
        result = asyncio.run(
            measure_fairness(
                gateway_url(stack),
                light,
                heavy,
                rounds=args.rounds,
                light_requests=args.light_requests,
                light_concurrency=args.light_concurrency,
                heavy_factor=args.heavy_factor,
                max_tokens=args.fairness_max_tokens,
            )
        )
    print_table([result.row()], result.errors)
    return result


def run_part(part: str, args: argparse.Namespace, folder: Path) -> Any:
    match part:
        case "failover":
            return asdict(run_failover(args, folder))
        case "prefix":
            return run_prefix(args, folder)
        case "fairness":
            result = run_fairness(args, folder)
            return {**asdict(result), "p99_ratio": result.p99_ratio}
    raise AssertionError(part)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    parts = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise SystemExit(f"unknown part(s) {', '.join(unknown)}: choose from {', '.join(PARTS)}")
    report: dict[str, Any] = {
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "threads_per_replica": THREADS_PER_REPLICA,
        "load_average_before": os.getloadavg(),
        "settings": vars(args),
    }
    for part in parts:
        print(f"({part}) starting the native stack with two llama-server replicas")
        folder = Path(tempfile.mkdtemp(prefix=f"bench-routing-{part}-"))
        try:
            report[part] = run_part(part, args, folder)
        except BaseException:
            print(f"({part}) failed; the stack's and gateways' logs are kept in {folder}")
            raise
        shutil.rmtree(folder)
    report["load_average_after"] = os.getloadavg()
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"routing-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"report: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
