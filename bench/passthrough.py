"""Pass-through overhead: a hosted-style upstream (the fake provider) called directly, and
through the gateway: relayed as is, and translated to Anthropic's API and back.

    .venv/bin/python -m bench.passthrough [--duration 5] [--concurrency 1,8]
                                          [--stream | --no-stream]

DIRECT is ``POST /v1/chat/completions`` on ``api_server.fakes.upstream``; RELAYED the same
body through the gateway (model ``bench-upstream``, engine kind ``openai``: bytes relayed as
is); TRANSLATED the same body for model ``bench-upstream-anthropic`` (engine kind
``anthropic``: the fake provider's Messages API, translated there and back). Added latency
is each row minus DIRECT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson
import uvloop
import yaml

from bench.loadgen import Target, run_load
from bench.overhead import (
    RESULTS_DIR,
    add_run_arguments,
    check_target,
    make_row,
    print_rows,
)
from bench.procs import Server, cpu_seconds, free_port, start_server

GATEWAY_MODEL = "bench-upstream"
TRANSLATED_MODEL = "bench-upstream-anthropic"
UPSTREAM_MODEL = "fake-echo"
MESSAGES = [{"role": "user", "content": "Say hello to the benchmark."}]
MAX_TOKENS = 16


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.passthrough",
        description="Measure the latency and CPU the gateway adds in front of a hosted API.",
    )
    add_run_arguments(parser, default_concurrency=[1, 8])
    parser.add_argument("--output", type=Path, help="JSON path (default bench/results/...)")
    return parser.parse_args(argv)


def models_yaml(upstream_url: str) -> str:
    def model(name: str, kind: str, url: str) -> dict[str, Any]:
        return {
            "name": name,
            "engine": {"kind": kind, "served_name": UPSTREAM_MODEL, "urls": [url]},
            "context_length": 8192,
            "max_tokens": {"default": MAX_TOKENS, "limit": 64},
        }

    models = [
        model(GATEWAY_MODEL, "openai", upstream_url + "/v1"),
        model(TRANSLATED_MODEL, "anthropic", upstream_url),
    ]
    return yaml.safe_dump({"default_model": GATEWAY_MODEL, "models": models}, sort_keys=False)


def targets(upstream: Server, gateway: Server, stream: bool) -> list[Target]:
    body: dict[str, Any] = {"messages": MESSAGES, "max_tokens": MAX_TOKENS, "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    chat = "/v1/chat/completions"
    return [
        Target("direct", upstream.url + chat, {"model": UPSTREAM_MODEL, **body}),
        Target("relayed", gateway.url + chat, {"model": GATEWAY_MODEL, **body}),
        Target("translated", gateway.url + chat, {"model": TRANSLATED_MODEL, **body}),
    ]


async def measure(
    upstream: Server, gateway: Server, args: argparse.Namespace
) -> list[dict[str, Any]]:
    modes = [False, True] if args.stream is None else [args.stream]
    rows: list[dict[str, Any]] = []
    for stream in modes:
        row_targets = targets(upstream, gateway, stream)
        servers = {"direct": upstream, "relayed": gateway, "translated": gateway}
        for target in row_targets:
            await check_target(target, servers[target.name])
        for concurrency in args.concurrency:
            batch: list[dict[str, Any]] = []
            for target in row_targets:
                server = servers[target.name]
                pid = server.pid
                sampler = (lambda p=pid: {"server_cpu_s": cpu_seconds(p)}) if pid else None
                result = await run_load(target, concurrency, args.duration, args.warmup, sampler)
                batch.append(make_row(target, concurrency, result, server))
            direct = batch[0]
            for row in batch[1:]:
                for key in ("p50", "p99"):
                    if row[f"{key}_ms"] is not None and direct[f"{key}_ms"] is not None:
                        row[f"added_{key}_ms"] = round(row[f"{key}_ms"] - direct[f"{key}_ms"], 3)
            print_rows(batch, header=not rows)
            rows.extend(batch)
    return rows


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    async with contextlib.AsyncExitStack() as stack:
        log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        port = free_port()
        upstream = await stack.enter_async_context(
            start_server(
                "fake-upstream", ["api_server.fakes.upstream", "--port", str(port)], port, log_dir
            )
        )
        models_file = log_dir / "models.yaml"
        models_file.write_text(models_yaml(upstream.url))
        port = free_port()
        env = {"INFERSTACK_MODELS_FILE": str(models_file), "INFERSTACK_CONFIG_FILE": os.devnull}
        gateway = await stack.enter_async_context(
            start_server("gateway", ["api_server", "--port", str(port)], port, log_dir, env)
        )
        return await measure(upstream, gateway, args)
    raise AssertionError("unreachable")  # mypy: AsyncExitStack may swallow exceptions


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        rows = runner.run(run(args))
    path = args.output or RESULTS_DIR / f"passthrough-{started}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        orjson.dumps(
            {"started": started, "cpus": os.cpu_count(), "rows": rows}, option=orjson.OPT_INDENT_2
        )
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
