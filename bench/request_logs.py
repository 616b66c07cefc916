"""Request logs: the writer's throughput into PostgreSQL, and what logging costs the gateway.

    .venv/bin/python -m bench.request_logs [--rows 200000] [--duration 10]
                                           [--concurrency 8,32] [--rounds 2]
                                           [--writer-only | --gateway-only]

Starts a PostgreSQL of its own (stackctl's NativeStack, a temporary state folder, a free
port), then:

- writer: enqueues `--rows` realistic records into a `RequestLogWriter` with the gateway's
  default settings (batch 1000, 200 ms), never more than the queue holds, and times until
  every row is committed: rows/s sustained, and the flush latency;
- gateway: bench.overhead's JSON rows (fake engine, closed loop) with logging off (no
  INFERSTACK_DATABASE_URL) and on (pointing at that PostgreSQL), alternating `--rounds`
  times, comparing the gateway's req/s and CPU per request.

Figures print as they come; the report goes to bench/results/request-logs-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import uvloop

from api_server.config import Settings
from api_server.logs.record import RequestLogRecord
from api_server.logs.writer import build_request_log_writer
from bench import overhead
from stackctl.api import NativeStack

RESULTS_DIR = Path(__file__).parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.request_logs", description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000, help="rows for the writer run")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per gateway row")
    parser.add_argument("--concurrency", default="8,32", help="gateway in-flight requests")
    parser.add_argument("--rounds", type=int, default=2, help="off/on alternations")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--writer-only", action="store_true")
    only.add_argument("--gateway-only", action="store_true")
    return parser.parse_args(argv)


def sample_record(n: int, run: str, start: datetime) -> RequestLogRecord:
    received = start + timedelta(microseconds=n * 150)
    return RequestLogRecord(
        id=f"{run}-{n:08d}",
        received_at=received,
        first_token_at=received + timedelta(milliseconds=12),
        finished_at=received + timedelta(milliseconds=85),
        endpoint="/v1/chat/completions",
        api_flavour="openai",
        model=("SmolLM2-135M-Instruct", "Llama-3.1-8B-Instruct")[n % 2],
        engine="llamacpp",
        replica="http://127.0.0.1:8080",
        status_code=200 if n % 50 else 503,
        error_type=None if n % 50 else "service_unavailable",
        prompt_tokens=40 + n % 300,
        completion_tokens=n % 512,
        latency_ms=85.25,
        ttft_ms=12.5,
        stream=bool(n % 3),
        cache_outcome="miss",
        end_user=f"user-{n % 97}",
        client_addr="127.0.0.1:51234",
    )


async def bench_writer(database_url: str, rows: int, spool_dir: Path) -> dict[str, Any]:
    settings = Settings(database_url=database_url, request_log_spool_dir=spool_dir)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    try:
        writer = build_request_log_writer(pool, settings)
        writer.start()
        run = uuid.uuid4().hex[:8]
        now = datetime.now(UTC)
        headroom = writer.queue_size - writer.batch_size
        started, cpu_started = time.perf_counter(), time.process_time()
        for n in range(rows):
            # A producer that never outruns the queue (past it, rows would go to the spool).
            while writer.queue_depth >= headroom:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            writer.enqueue(sample_record(n, run, now))
        if not await writer.wait_idle(timeout_s=300):
            raise SystemExit("the writer did not drain in 300 s")
        elapsed = time.perf_counter() - started
        # This process's CPU per row: what logging costs a gateway, plus making the records.
        cpu_us_per_row = (time.process_time() - cpu_started) / rows * 1e6
        await writer.close()
        stored = await pool.fetchval(
            "SELECT count(*) FROM request_logs WHERE id LIKE $1", f"{run}-%"
        )
    finally:
        await pool.close()
    registry = writer.metrics.registry
    flushes = registry.get_sample_value("inferstack_request_log_flush_seconds_count") or 0
    flush_s = registry.get_sample_value("inferstack_request_log_flush_seconds_sum") or 0
    result = {
        "rows": rows,
        "rows_stored": stored,
        "seconds": round(elapsed, 3),
        "rows_per_s": round(rows / elapsed),
        "cpu_us_per_row": round(cpu_us_per_row, 1),
        "flushes": int(flushes),
        "mean_flush_ms": round(flush_s / max(flushes, 1) * 1000, 2),
        "rows_spooled": registry.get_sample_value("inferstack_request_log_rows_spooled_total"),
    }
    print(
        f"writer: {rows} rows in {elapsed:.2f} s = {result['rows_per_s']} rows/s "
        f"({result['flushes']} flushes, mean {result['mean_flush_ms']} ms; stored {stored}; "
        f"{result['cpu_us_per_row']} us CPU per row in this process)",
        flush=True,
    )
    return result


async def bench_gateway(
    database_url: str, spool_dir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    os.environ.pop("INFERSTACK_DATABASE_URL", None)  # "off" must mean off
    common = ["--no-stream", "--concurrency", args.concurrency]
    common += ["--duration", str(args.duration)]
    on_env = [
        "--gateway-env",
        f"INFERSTACK_DATABASE_URL={database_url}",
        "--gateway-env",
        f"INFERSTACK_REQUEST_LOG_SPOOL_DIR={spool_dir}",
    ]
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    for round_number in range(args.rounds):
        for mode in ("off", "on"):
            print(f"\n-- gateway, request logging {mode} (round {round_number + 1})", flush=True)
            argv = common + (on_env if mode == "on" else [])
            rows = await overhead.run(overhead.parse_args(argv))
            runs[mode] += [row for row in rows if row["target"] == "through"]
    summary = []
    for concurrency in (int(c) for c in args.concurrency.split(",")):
        line: dict[str, Any] = {"concurrency": concurrency}
        for mode in ("off", "on"):
            rows = [r for r in runs[mode] if r["concurrency"] == concurrency]
            line[f"{mode}_req_per_s"] = round(statistics.mean(r["req_per_s"] for r in rows), 1)
            cpu = [r["server_cpu_ms_per_req"] for r in rows if r["server_cpu_ms_per_req"]]
            line[f"{mode}_cpu_ms_per_req"] = round(statistics.mean(cpu), 3) if cpu else None
            line[f"{mode}_errors"] = sum(r["errors"] for r in rows)
        line["throughput_change_pct"] = round(
            (line["on_req_per_s"] / line["off_req_per_s"] - 1) * 100, 1
        )
        summary.append(line)
    print("\nconc   off req/s   on req/s   change   off cpu ms/req   on cpu ms/req")
    for line in summary:
        print(
            f"{line['concurrency']:>4}  {line['off_req_per_s']:>10}  {line['on_req_per_s']:>9}"
            f"  {line['throughput_change_pct']:>+6}%  {line['off_cpu_ms_per_req']!s:>15}"
            f"  {line['on_cpu_ms_per_req']!s:>14}",
            flush=True,
        )
    return {"summary": summary, "rows": runs}


async def run(args: argparse.Namespace, stack: NativeStack, work: Path) -> dict[str, Any]:
    values = {k: stack.value("postgres", k) for k in ("user", "password", "database")}
    database_url = (
        f"postgresql://{values['user']}:{values['password']}@127.0.0.1:"
        f"{stack.port('postgres')}/{values['database']}"
    )
    report: dict[str, Any] = {}
    if not args.gateway_only:
        report["writer"] = await bench_writer(database_url, args.rows, work / "writer-spool")
    if not args.writer_only:
        report["gateway"] = await bench_gateway(database_url, work / "gateway-spool", args)
    return report


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as tmp:
        work = Path(tmp)
        with (
            NativeStack(work / "stack", services=["postgres"], free_ports=True) as stack,
            asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
        ):
            report = runner.run(run(args, stack, work))
    report["machine"] = {
        "cpus": os.cpu_count(),
        "loadavg_before_after": [load_before, os.getloadavg()],
    }
    path = RESULTS_DIR / f"request-logs-{started}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
