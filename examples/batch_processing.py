"""Run a JSONL file of prompts through inferstack concurrently, with the async openai SDK.

Each input line is a JSON object with a "prompt" and optionally an "id", a "system" prompt
and "max_tokens". At most --concurrency requests are in flight at once. 429 (busy) and 503
(engine loading or down) are retried with exponential backoff and jitter, never sooner than
the gateway's Retry-After. Results go to --output as JSONL in the input's order, followed by
a summary: requests, failures, wall time, req/s, tokens/s and latency percentiles.

    python examples/batch_processing.py
    python examples/batch_processing.py my_prompts.jsonl --output answers.jsonl --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import openai
from openai.types.chat import ChatCompletionMessageParam
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress

RETRY_STATUSES = {429, 503}
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 30.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default_input = Path(__file__).parent / "data" / "prompts.jsonl"
    parser.add_argument(
        "input", nargs="?", type=Path, default=default_input, help="JSONL prompts (%(default)s)"
    )
    parser.add_argument(
        "--output", type=Path, default=Path("batch_results.jsonl"), help="%(default)s"
    )
    parser.add_argument("--base-url", default="http://localhost:8000/v1", help="%(default)s")
    parser.add_argument("--model", default="SmolLM2-135M-Instruct", help="%(default)s")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="in flight at most (%(default)s)"
    )
    parser.add_argument("--max-attempts", type=int, default=5, help="per prompt (%(default)s)")
    parser.add_argument("--temperature", type=float, help="0 for repeatable answers")
    parser.add_argument("--max-tokens", type=int, default=64, help="%(default)s unless a line says")
    return parser.parse_args()


def backoff_s(attempt: int, error: Exception) -> float:
    """Exponential backoff with full jitter, but at least the server's Retry-After."""
    delay = random.uniform(0, min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2**attempt))
    if isinstance(error, openai.APIStatusError):
        with contextlib.suppress(ValueError):  # absent, or an HTTP date
            delay = max(delay, float(error.response.headers.get("retry-after", "")))
    return delay


async def complete(
    client: openai.AsyncOpenAI,
    args: argparse.Namespace,
    item: dict[str, Any],
    slots: asyncio.Semaphore,
) -> dict[str, Any]:
    messages: list[ChatCompletionMessageParam] = []
    if item.get("system"):
        messages.append({"role": "system", "content": item["system"]})
    messages.append({"role": "user", "content": item["prompt"]})
    result: dict[str, Any] = {"id": item.get("id"), "prompt": item["prompt"]}
    async with slots:  # held through the backoff too, so retries do not add load
        start = time.perf_counter()
        for attempt in range(1, args.max_attempts + 1):
            try:
                reply = await client.chat.completions.create(
                    model=args.model,
                    messages=messages,
                    max_tokens=item.get("max_tokens", args.max_tokens),
                    temperature=args.temperature,
                )
            except (openai.APIStatusError, openai.APIConnectionError) as error:
                status = getattr(error, "status_code", None)
                retryable = status in RETRY_STATUSES or isinstance(error, openai.APIConnectionError)
                if not retryable or attempt == args.max_attempts:
                    result["error"] = error.message
                    break
                await asyncio.sleep(backoff_s(attempt, error))
            else:
                result["response"] = reply.choices[0].message.content
                result["finish_reason"] = reply.choices[0].finish_reason
                result["usage"] = reply.usage.model_dump(exclude_none=True) if reply.usage else None
                break
        result["attempts"] = attempt
        result["latency_s"] = round(time.perf_counter() - start, 3)
    return result


async def run_batch(args: argparse.Namespace, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    slots = asyncio.Semaphore(args.concurrency)
    # The SDK's own retries are off: this script retries, and counts the attempts.
    async with openai.AsyncOpenAI(
        base_url=args.base_url, api_key="unused", max_retries=0
    ) as client:
        await client.models.list()  # fail at once when the stack is down
        progress = Progress(
            *Progress.get_default_columns(), MofNCompleteColumn(), console=Console(stderr=True)
        )
        with progress:
            task = progress.add_task("prompts", total=len(items))

            async def one(item: dict[str, Any]) -> dict[str, Any]:
                result = await complete(client, args, item, slots)
                progress.advance(task)
                return result

            return await asyncio.gather(*(one(item) for item in items))  # in input order


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def print_summary(results: list[dict[str, Any]], wall_s: float, output: Path) -> None:
    done = [r for r in results if "error" not in r]
    tokens = sum(r["usage"]["completion_tokens"] for r in done if r["usage"])
    retries = sum(r["attempts"] - 1 for r in results)
    print(f"requests:   {len(results)} ({len(results) - len(done)} failed, {retries} retries)")
    print(f"wall time:  {wall_s:.2f} s")
    print(
        f"throughput: {len(results) / wall_s:.1f} req/s, {tokens / wall_s:.1f} tokens/s generated"
    )
    if done:
        latencies = [r["latency_s"] for r in done]
        p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
        print(f"latency:    P50 {p50:.2f} s, P95 {p95:.2f} s, P99 {p99:.2f} s")
    print(f"results:    {output}")


def main() -> int:
    args = parse_args()
    lines = args.input.read_text().splitlines()
    items = [json.loads(line) for line in lines if line.strip()]
    start = time.perf_counter()
    try:
        results = asyncio.run(run_batch(args, items))
    except openai.APIConnectionError:
        sys.exit(f"inferstack is not reachable at {args.base_url} — run `make start`")
    wall_s = time.perf_counter() - start
    with args.output.open("w") as out:
        for result in results:
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    print_summary(results, wall_s, args.output)
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
