"""Run a JSONL file of prompts through inferstack concurrently, with the async openai SDK.

Each input line is a JSON object with a "prompt" and optionally an "id", a "system" prompt
and "max_tokens". At most --concurrency requests are in flight at once. 429 (busy) and 503
(engine loading or down) are retried with exponential backoff and jitter, never sooner than
the gateway's Retry-After. Results go to --output as JSONL in the input's order, followed by
a summary: requests, failures, wall time, req/s, tokens/s and latency percentiles.

With --batch-api the gateway does the work instead (OpenAI's Batch API): the prompts are
uploaded as one JSONL file (`client.files.create(purpose="batch")`), a batch is created
(`client.batches.create`), polled until it ends (`client.batches.retrieve`), and its output
and error files are downloaded (`client.files.content`). The gateway runs the lines at the
lowest priority, resumes them after a restart, and keeps them for --completion-window.

    python examples/batch_processing.py
    python examples/batch_processing.py my_prompts.jsonl --output answers.jsonl --concurrency 8
    python examples/batch_processing.py --batch-api
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
    parser.add_argument(
        "--batch-api", action="store_true", help="run the prompts as one batch on the gateway"
    )
    parser.add_argument("--poll-s", type=float, default=1.0, help="--batch-api: %(default)s")
    parser.add_argument(
        "--completion-window", default="24h", help="--batch-api: %(default)s (OpenAI's only)"
    )
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


def batch_request(args: argparse.Namespace, index: int, item: dict[str, Any]) -> dict[str, Any]:
    """One line of the batch's input file: the chat request `complete` would send."""
    messages: list[dict[str, str]] = []
    if item.get("system"):
        messages.append({"role": "system", "content": item["system"]})
    messages.append({"role": "user", "content": item["prompt"]})
    body: dict[str, Any] = {
        "model": args.model,
        "messages": messages,
        "max_tokens": item.get("max_tokens", args.max_tokens),
    }
    if args.temperature is not None:
        body["temperature"] = args.temperature
    custom_id = str(item.get("id", index))
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


async def run_batch_api(
    args: argparse.Namespace, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    requests = [batch_request(args, i, item) for i, item in enumerate(items)]
    ids = [request["custom_id"] for request in requests]
    if len(set(ids)) != len(ids):
        sys.exit("--batch-api needs a unique id per prompt (each line's custom_id)")
    data = "".join(json.dumps(request, ensure_ascii=False) + "\n" for request in requests)
    async with openai.AsyncOpenAI(
        base_url=args.base_url, api_key="unused", max_retries=2
    ) as client:
        uploaded = await client.files.create(file=(args.input.name, data.encode()), purpose="batch")
        batch = await client.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window=args.completion_window,
            metadata={"source": "examples/batch_processing.py"},
        )
        print(f"batch {batch.id}: {len(requests)} requests in file {uploaded.id}", file=sys.stderr)
        progress = Progress(
            *Progress.get_default_columns(), MofNCompleteColumn(), console=Console(stderr=True)
        )
        with progress:
            task = progress.add_task("batch", total=len(requests))
            while batch.status not in ("completed", "failed", "expired", "cancelled"):
                await asyncio.sleep(args.poll_s)
                batch = await client.batches.retrieve(batch.id)
                counts = batch.request_counts
                if counts is not None:
                    progress.update(task, completed=counts.completed + counts.failed)
        print(f"batch {batch.id}: {batch.status}", file=sys.stderr)
        answers: dict[str, dict[str, Any]] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id is not None:
                content = await client.files.content(file_id)
                for line in content.text.splitlines():
                    answer = json.loads(line)
                    answers[answer["custom_id"]] = answer
        if batch.status == "failed" and batch.errors and batch.errors.data:
            sys.exit(f"batch {batch.id} failed: {batch.errors.data[0].message}")
    return [
        batch_result(item, answers.get(custom_id))
        for item, custom_id in zip(items, ids, strict=True)
    ]


def batch_result(item: dict[str, Any], answer: dict[str, Any] | None) -> dict[str, Any]:
    """A line of --output, as the concurrent mode writes it (no per-request timings)."""
    result: dict[str, Any] = {"id": item.get("id"), "prompt": item["prompt"], "attempts": 1}
    response = (answer or {}).get("response")
    if response is None or response["status_code"] != 200:
        error = (answer or {}).get("error") or (response or {}).get("body", {}).get("error")
        result["error"] = (error or {}).get("message", "no answer in the batch's files")
        return result
    choice = response["body"]["choices"][0]
    result["response"] = choice["message"]["content"]
    result["finish_reason"] = choice["finish_reason"]
    result["usage"] = response["body"].get("usage")
    return result


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
    if done and all("latency_s" in r for r in done):
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
        results = asyncio.run((run_batch_api if args.batch_api else run_batch)(args, items))
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
