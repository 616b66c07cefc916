"""Start the fakes, inferstack and LiteLLM's proxy; drive each path at each concurrency, one
target at a time; print the comparison and write the JSON report.

    .venv/bin/python -m bench.peers [--duration 5] [--concurrency 1,64] [--paths ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import uvloop

from bench.loadgen import run_load
from bench.overhead import RESULTS_DIR, check_target, machine_info, make_row
from bench.peers.litellm_venv import CACHE_DIR, LITELLM_VERSION, ensure_litellm
from bench.peers.paths import (
    INFERSTACK,
    LITELLM,
    PATHS,
    Urls,
    gateway_order,
    inferstack_models_yaml,
    litellm_config_yaml,
    path_targets,
)
from bench.peers.report import add_latency_over_direct, compare, format_table
from bench.procs import Server, cpu_seconds, free_port, start_server


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.peers",
        description="inferstack beside LiteLLM's proxy: CPU per request, added latency, RSS.",
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per row")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds per row")
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(c) for c in s.split(",")],
        default=[1, 64],
        help="comma-separated in-flight request counts (default 1,64)",
    )
    parser.add_argument(
        "--paths",
        type=lambda s: s.split(","),
        default=list(PATHS),
        help=f"comma-separated subset of {','.join(PATHS)}",
    )
    parser.add_argument("--litellm-version", default=LITELLM_VERSION)
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help="LiteLLM venvs")
    parser.add_argument("--output", type=Path, help="JSON path (default bench/results/...)")
    args = parser.parse_args(argv)
    if unknown := set(args.paths) - set(PATHS):
        parser.error(f"unknown paths: {', '.join(sorted(unknown))}")
    return args


async def measure(
    servers: dict[str, Server], urls: Urls, args: argparse.Namespace
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for index, path in enumerate(args.paths):
        targets = path_targets(path, urls)
        directs = {t.name: t for key, t in targets.items() if key.startswith("direct-")}
        order = [*directs.values(), *(targets[g] for g in gateway_order(index))]
        for target in order:
            await check_target(target, servers[target.name])
        for concurrency in args.concurrency:
            measured: dict[str, dict[str, Any]] = {}
            for target in order:
                server = servers[target.name]
                sampler = lambda p=server.pid: {"server_cpu_s": cpu_seconds(p)}  # noqa: E731
                result = await run_load(target, concurrency, args.duration, args.warmup, sampler)
                row = make_row(target, concurrency, result, server)
                measured[target.name] = {"path": path, "gateway": target.name, **row}
                print(
                    f"  {path} c={concurrency} {target.name}: {row['req_per_s']} req/s, "
                    f"{row['server_cpu_ms_per_req']} cpu ms/req, errors {row['errors']}",
                    flush=True,
                )
            for gateway in (INFERSTACK, LITELLM):
                direct = measured[targets[f"direct-{gateway}"].name]
                add_latency_over_direct(measured[gateway], direct)
            rows.extend(measured.values())
    return rows


@contextlib.asynccontextmanager
async def started_servers(litellm_python: Path, log_dir: Path) -> AsyncIterator[dict[str, Server]]:
    """The two fakes, inferstack and LiteLLM, keyed by the target names that measure them."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(name: str, module_args: list[str], **options: Any) -> Server:
            port = free_port()
            module_args = [*module_args, "--port", str(port)]
            server = start_server(name, module_args, port, log_dir, **options)
            return await stack.enter_async_context(server)

        engine = await start("fake-engine", ["api_server.fakes.engine"])
        upstream = await start("fake-upstream", ["api_server.fakes.upstream"])
        models_file = log_dir / "models.yaml"
        models_file.write_text(inferstack_models_yaml(engine.url, upstream.url))
        env = {"INFERSTACK_MODELS_FILE": str(models_file), "INFERSTACK_CONFIG_FILE": os.devnull}
        ours = await start(INFERSTACK, ["api_server"], env=env)
        config = log_dir / "litellm.yaml"
        config.write_text(litellm_config_yaml(upstream.url))
        theirs = await start(
            LITELLM,
            ["litellm.proxy.proxy_cli", "--config", str(config), "--num_workers", "1"],
            # No network here: LiteLLM would fetch its model cost map at start.
            env={"LITELLM_LOCAL_MODEL_COST_MAP": "True"},
            python=str(litellm_python),
            timeout_s=180.0,  # its imports alone take several seconds
        )
        yield {
            "direct-engine": engine,
            "direct-upstream": upstream,
            INFERSTACK: ours,
            LITELLM: theirs,
        }


async def run(args: argparse.Namespace, litellm_python: Path) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
        log_dir = Path(tmp)
        async with started_servers(litellm_python, log_dir) as servers:
            urls = Urls(
                engine=servers["direct-engine"].url,
                upstream=servers["direct-upstream"].url,
                inferstack=servers[INFERSTACK].url,
                litellm=servers[LITELLM].url,
            )
            return await measure(servers, urls, args)
    raise AssertionError("unreachable")  # mypy: the context manager may swallow exceptions


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    litellm_python = ensure_litellm(args.litellm_version, args.cache_dir)
    started = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    load_before = os.getloadavg()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # cheaper client
        rows = runner.run(run(args, litellm_python))
    comparisons = compare(rows)
    print("\n" + format_table(comparisons))
    path = args.output or RESULTS_DIR / f"peers-{started}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "started": started,
        "machine": machine_info({"before": load_before, "after": os.getloadavg()}),
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "concurrency": args.concurrency,
            "paths": args.paths,
            "litellm": f"litellm[proxy]=={args.litellm_version}",
        },
        "comparisons": comparisons,
        "rows": rows,
    }
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    print(f"\nwrote {path}")
