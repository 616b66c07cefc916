"""What choosing a replica costs the gateway, and what the prefix index holds.

    .venv/bin/python -m bench.routing_decision [--decisions 20000] [--prompts 1000000]

In process, no network: the prompt-prefix keys of a formatted prompt, the index lookup and
the load-aware choice (`EnginePool.lease`, recording included), for conversations of 1 to 10
turns behind a ~1,500-token system prompt, over two replicas; and then a million distinct
prompts recorded into one index at its default bound, with the index's size and the memory
it holds (tracemalloc). The target (issue 17): p99 of a decision at most 50 µs, and the
index within its bound. The report: bench/results/routing-decision-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import time
import tracemalloc
from pathlib import Path
from typing import Any

import aiohttp

from api_server.engines.client import EngineReplica
from api_server.engines.pool import EnginePool
from api_server.engines.prefix_index import PrefixIndex, prefix_keys
from api_server.engines.routing import RoutingSettings, route_for
from api_server.errors import EngineError
from api_server.registry import ModelSpec

RESULTS_DIR = Path(__file__).parent / "results"
SYSTEM = (
    "You are the support assistant of a company that sells and services industrial pumps. "
    "Answer precisely, cite the manual section when you can, and never invent part numbers. "
) * 36  # ~6,000 characters, ~1,500 tokens
SPEC = ModelSpec.model_validate(
    {
        "name": "bench",
        "prompt_family": "chatml",
        "engine": {"kind": "llamacpp", "served_name": "m", "urls": ["http://a:1", "http://b:1"]},
        "context_length": 8192,
        "max_tokens": {"default": 16, "limit": 64},
    }
)


class _Observer:
    def engine_chosen(self, replica: EngineReplica) -> None: ...
    def engine_failed(self, replica: EngineReplica, error: EngineError) -> None: ...


def _conversation_prompt(conversation: int, turns: int) -> str:
    return "".join(_conversation_parts(conversation, turns))


def _conversation_parts(conversation: int, turns: int) -> list[str]:
    """The ChatML prompt of a conversation `turns` long, in the pieces it is joined from."""
    parts = [f"<|im_start|>system\n{SYSTEM}<|im_end|>\n"]
    for turn in range(turns):
        parts.append(f"<|im_start|>user\nConversation {conversation}, question {turn}?<|im_end|>\n")
        parts.append(f"<|im_start|>assistant\nAn answer of a few sentences, {turn}.<|im_end|>\n")
    parts.append("<|im_start|>assistant\n")
    return parts


async def _decision_costs(decisions: int) -> list[float]:
    settings = RoutingSettings()
    prompts = [_conversation_parts(c, t) for c in range(50) for t in range(1, 11)]
    observer = _Observer()
    costs: list[float] = []
    async with aiohttp.ClientSession() as http:
        pool = EnginePool(SPEC, http, settings)
        for n in range(decisions):
            # Made afresh, untimed, as the gateway formats each prompt just before routing
            # it (a prompt last touched 500 prompts ago is a cold-cache outlier it never has).
            prompt = "".join(prompts[n % len(prompts)])
            started = time.perf_counter()
            route = route_for(prompt, f"key:1\ns-{n % 50}", settings)
            lease = pool.lease(observer, route)
            costs.append(time.perf_counter() - started)
            lease.release()
    return costs


def _index_bound(prompts: int, entries: int) -> dict[str, Any]:
    settings = RoutingSettings()
    index = PrefixIndex(entries)
    tracemalloc.start()
    try:
        for n in range(prompts):
            text = f"{n:08d} a distinct prompt of a few hundred bytes, mostly the same. " * 12
            index.record(prefix_keys(text, settings.block_bytes, settings.max_blocks), n % 2)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return {
        "prompts": prompts,
        "bound_entries": entries,
        "entries": len(index),
        "held_mb": round(held / 2**20, 1),
        "peak_mb": round(peak / 2**20, 1),
        "within_bound": len(index) <= entries,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--prompts", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    costs = sorted(asyncio.run(_decision_costs(args.decisions)))
    micro = [cost * 1e6 for cost in costs]
    chars = [len(_conversation_prompt(0, 1)), len(_conversation_prompt(0, 10))]
    decision: dict[str, Any] = {
        "decisions": len(micro),
        "p50_us": round(statistics.median(micro), 1),
        "p99_us": round(micro[int(len(micro) * 0.99) - 1], 1),
        "max_us": round(micro[-1], 1),
        "prompt_chars": chars,
    }
    index = _index_bound(args.prompts, RoutingSettings().index_entries)
    report = {"decision": decision, "index": index, "target_p99_us": 50}
    print(
        f"routing decision (prefix keys + lookup + choice + record), {decision['decisions']} "
        f"prompts of {chars[0]}-{chars[1]} chars: "
        f"p50 {decision['p50_us']} us, p99 {decision['p99_us']} us (target <= 50)"
    )
    print(
        f"prefix index after {index['prompts']:,} distinct prompts: {index['entries']:,} "
        f"entries (bound {index['bound_entries']:,}), {index['held_mb']} MB held"
    )
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"routing-decision-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"report: {path}")


if __name__ == "__main__":
    main()
