"""Gateway overhead: the same work sent straight to a fake engine and through the gateway.

    .venv/bin/python -m bench.overhead [--duration 5] [--concurrency 1,8,32,64]
                                       [--stream | --no-stream] [--gateway-url URL]

Starts the fake engine (``api_server.fakes.engine``) and the gateway (``python -m api_server``
with a one-model registry pointing at the fake engine), then for each mode and concurrency
runs DIRECT (``/v1/completions`` on the engine, with the raw ChatML prompt the gateway would
build) and THROUGH (``/v1/chat/completions`` on the gateway). See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
import uvloop
import yaml

from bench.loadgen import LoadResult, Target, percentile, run_load, send_one
from bench.procs import Server, cpu_seconds, free_port, rss_mb, start_server

RESULTS_DIR = Path(__file__).parent / "results"
GATEWAY_MODEL = "bench-model"
ENGINE_MODEL = "fake"
USER_TEXT = "Say hello."
CHATML_PROMPT = f"<|im_start|>user\n{USER_TEXT}<|im_end|>\n<|im_start|>assistant\n"
MAX_TOKENS = 16


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.overhead",
        description="Measure the latency and CPU the gateway adds in front of an engine.",
    )
    add_run_arguments(parser, default_concurrency=[1, 8, 32, 64])
    parser.add_argument("--gateway-url", help="bench this running gateway instead of starting one")
    parser.add_argument("--gateway-pid", type=int, help="its pid, for CPU and RSS figures")
    parser.add_argument(
        "--gateway-model", default=GATEWAY_MODEL, help="model name sent to --gateway-url"
    )
    parser.add_argument(
        "--engine-url",
        help="engine for the DIRECT rows (default: start a fake engine); with --gateway-url, "
        "give the engine that gateway uses",
    )
    parser.add_argument("--engine-model", default=ENGINE_MODEL, help="model sent to the engine")
    parser.add_argument(
        "--gateway-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the started gateway (repeatable)",
    )
    parser.add_argument(
        "--direct-only", action="store_true", help="only the engine rows (no gateway started)"
    )
    parser.add_argument("--output", type=Path, help="JSON path (default bench/results/...)")
    return parser.parse_args(argv)


def add_run_arguments(parser: argparse.ArgumentParser, default_concurrency: list[int]) -> None:
    """Row length, warm-up, concurrency levels and modes: the same for every bench."""
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per row")
    parser.add_argument("--warmup", type=float, default=0.5, help="unmeasured seconds per row")
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(c) for c in s.split(",")],
        default=default_concurrency,
        help="comma-separated in-flight request counts (default "
        f"{','.join(map(str, default_concurrency))})",
    )
    parser.add_argument(
        "--stream",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="only streaming (--stream) or only non-streaming (--no-stream); default both",
    )


def models_yaml(engine_url: str) -> str:
    model = {
        "name": GATEWAY_MODEL,
        "prompt_family": "chatml",
        "tool_call_syntax": "none",
        "engine": {"kind": "llamacpp", "served_name": ENGINE_MODEL, "urls": [engine_url]},
        "context_length": 8192,
        "max_tokens": {"default": MAX_TOKENS, "limit": 64},
    }
    return yaml.safe_dump({"default_model": GATEWAY_MODEL, "models": [model]}, sort_keys=False)


def targets(
    engine: Server, gateway: Server | None, args: argparse.Namespace, stream: bool
) -> list[Target]:
    direct: dict[str, Any] = {
        "model": args.engine_model,
        "prompt": CHATML_PROMPT,
        "max_tokens": MAX_TOKENS,
        "stop": ["<|im_end|>"],
        "stream": stream,
    }
    through: dict[str, Any] = {
        "model": args.gateway_model,
        "messages": [{"role": "user", "content": USER_TEXT}],
        "max_tokens": MAX_TOKENS,
        "stream": stream,
    }
    if stream:
        direct["stream_options"] = {"include_usage": True}
    pair = [Target("direct", engine.url + "/v1/completions", direct)]
    if gateway:
        pair.append(Target("through", gateway.url + "/v1/chat/completions", through))
    return pair


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def make_row(
    target: Target, concurrency: int, result: LoadResult, server: Server
) -> dict[str, Any]:
    """One table row; the measured server is the engine for DIRECT, the gateway THROUGH."""
    completed = max(result.requests, 1)
    cpu = result.usage.get("server_cpu_s")
    return {
        "mode": "stream" if target.stream else "json",
        "concurrency": concurrency,
        "target": target.name,
        "requests": result.requests,
        "errors": result.errors,
        "first_error": result.first_error,
        "req_per_s": round(result.requests / result.elapsed_s, 1),
        "p50_ms": ms(percentile(result.latencies_s, 50)),
        "p99_ms": ms(percentile(result.latencies_s, 99)),
        "ttft_p50_ms": ms(percentile(result.ttfts_s, 50)),
        "added_p50_ms": None,
        "added_p99_ms": None,
        "server": server.name,
        "server_cpu_ms_per_req": None if cpu is None else round(cpu * 1000 / completed, 3),
        "server_rss_mb": None if server.pid is None else round(rss_mb(server.pid), 1),
        "client_cpu_util": round(result.usage["client_cpu_s"] / result.elapsed_s, 2),
    }


async def measure(
    engine: Server, gateway: Server | None, args: argparse.Namespace
) -> list[dict[str, Any]]:
    modes = [False, True] if args.stream is None else [args.stream]
    rows: list[dict[str, Any]] = []
    for stream in modes:
        pair = targets(engine, gateway, args, stream)
        servers = {"direct": engine, "through": gateway or engine}
        for target in pair:  # fail fast, with the server's own words
            await check_target(target, servers[target.name])
        for concurrency in args.concurrency:
            by_target: dict[str, dict[str, Any]] = {}
            for target in pair:
                server = servers[target.name]
                pid = server.pid
                sampler = (lambda p=pid: {"server_cpu_s": cpu_seconds(p)}) if pid else None
                result = await run_load(target, concurrency, args.duration, args.warmup, sampler)
                by_target[target.name] = row = make_row(target, concurrency, result, server)
                rows.append(row)
            add_overhead(by_target)
            print_rows(list(by_target.values()), header=len(rows) == len(by_target))
    return rows


def add_overhead(by_target: dict[str, dict[str, Any]]) -> None:
    """THROUGH minus DIRECT latency, on the THROUGH row."""
    direct, through = by_target["direct"], by_target.get("through")
    for key in ("p50", "p99"):
        if through and direct[f"{key}_ms"] is not None and through[f"{key}_ms"] is not None:
            through[f"added_{key}_ms"] = round(through[f"{key}_ms"] - direct[f"{key}_ms"], 3)


async def check_target(target: Target, server: Server) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        try:
            await send_one(session, target, orjson.dumps(target.body))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise SystemExit(
                f"{target.name} request to {target.url} failed: {exc}\n{server.log_tail()}"
            ) from exc


COLUMNS = [
    ("mode", "mode", "{}"),
    ("concurrency", "conc", "{}"),
    ("target", "target", "{}"),
    ("req_per_s", "req/s", "{:.1f}"),
    ("p50_ms", "p50 ms", "{:.2f}"),
    ("p99_ms", "p99 ms", "{:.2f}"),
    ("added_p50_ms", "+p50 ms", "{:+.2f}"),
    ("added_p99_ms", "+p99 ms", "{:+.2f}"),
    ("ttft_p50_ms", "ttft50 ms", "{:.2f}"),
    ("server_cpu_ms_per_req", "srv cpu ms/req", "{:.3f}"),
    ("server_rss_mb", "srv rss MB", "{:.0f}"),
    ("client_cpu_util", "client cpu", "{:.0%}"),
    ("errors", "errors", "{}"),
]


def print_rows(rows: list[dict[str, Any]], header: bool) -> None:
    widths = [max(len(title), 9) for _, title, _ in COLUMNS]
    if header:
        print("  ".join(t.rjust(w) for (_, t, _), w in zip(COLUMNS, widths, strict=True)))
    for row in rows:
        cells = ["-" if row[key] is None else fmt.format(row[key]) for key, _, fmt in COLUMNS]
        print("  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)), flush=True)
        if row["first_error"]:
            print(f"    first error: {row['first_error']}", flush=True)


def machine_info(load: dict[str, tuple[float, float, float]]) -> dict[str, Any]:
    """Where a report was measured; other processes' load skews latency (not CPU per
    request), so the load average before and after goes with it."""
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "loadavg_1_5_15": load,
    }


def write_json(
    rows: list[dict[str, Any]],
    args: argparse.Namespace,
    started: str,
    load: dict[str, tuple[float, float, float]],
) -> Path:
    path = args.output or RESULTS_DIR / f"overhead-{started}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "started": started,
        "machine": machine_info(load),
        "settings": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "concurrency": args.concurrency,
            "max_tokens": MAX_TOKENS,
            "gateway_url": args.gateway_url,
            "engine_url": args.engine_url,
            "direct_only": args.direct_only,
        },
        "rows": rows,
    }
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return path


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    async with contextlib.AsyncExitStack() as stack:
        log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        if args.engine_url:
            engine = Server("engine", args.engine_url.rstrip("/"), None)
        else:
            port = free_port()
            engine_args = ["api_server.fakes.engine", "--port", str(port)]
            engine = await stack.enter_async_context(
                start_server("fake-engine", engine_args, port, log_dir)
            )
        gateway: Server | None = None
        if args.direct_only:
            pass
        elif args.gateway_url:
            gateway = Server("gateway", args.gateway_url.rstrip("/"), args.gateway_pid)
        else:
            models_file = log_dir / "models.yaml"
            models_file.write_text(models_yaml(engine.url))
            env = dict(kv.split("=", 1) for kv in args.gateway_env)
            env["INFERSTACK_MODELS_FILE"] = str(models_file)
            port = free_port()
            gateway = await stack.enter_async_context(
                start_server("gateway", ["api_server", "--port", str(port)], port, log_dir, env)
            )
        return await measure(engine, gateway, args)
    raise AssertionError("unreachable")  # mypy: AsyncExitStack may swallow exceptions


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    load_before = os.getloadavg()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # cheaper client
        rows = runner.run(run(args))
    load = {"before": load_before, "after": os.getloadavg()}
    print(f"\nwrote {write_json(rows, args, started, load)}")


if __name__ == "__main__":
    main()
