"""Same model, same answer: the greedy answers of llama.cpp, vLLM and MAX Serve serving the
same SmolLM2 weights to the gateway's prompt, compared prompt by prompt.

    .venv/bin/python -m bench.agreement [--gateway-url http://127.0.0.1:8000] [--max-tokens 32]

Against a running gateway with all three engines (`make start ENGINE="vllm max"`). Each
prompt goes to each engine's model at temperature 0; the report gives, for every pair of
engines, how many answers are identical and how far they agree (the common prefix, in
characters) where they are not. llama.cpp serves the Q4_1 GGUF (its matrix products
quantize activations to 8 bits); vLLM and MAX serve the same weights de-quantized to float32,
so exact equality is expected between those two and near-equality with llama.cpp.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
from dataclasses import dataclass

import httpx

ENGINE_MODELS = {
    "llamacpp": "SmolLM2-135M-Instruct",
    "vllm": "SmolLM2-135M-Instruct-vllm",
    "max": "SmolLM2-135M-Instruct-max",
}

PROMPTS = [
    "What is the capital of France?",
    "What is the capital of Germany?",
    "What is the capital of Japan?",
    "How many days are in a week?",
    "What color is the sky on a clear day?",
    "Name three fruits.",
    "What is 2 + 2?",
    "Who wrote Romeo and Juliet?",
    "What is the boiling point of water in Celsius?",
    "Translate 'good morning' into Spanish.",
    "What is the largest planet in the solar system?",
    "Give me a synonym for 'happy'.",
    "What do bees make?",
    "How many legs does a spider have?",
    "What is the opposite of 'hot'?",
    "Write one sentence about the ocean.",
    "What language is spoken in Brazil?",
    "What is the chemical symbol for gold?",
    "Name a famous painting by Leonardo da Vinci.",
    "What is the square root of 81?",
    "Which animal is known as the king of the jungle?",
    "What season comes after winter?",
    "How many continents are there?",
    "Say hello in French.",
]


@dataclass(frozen=True)
class PairAgreement:
    engines: tuple[str, str]
    identical: int
    total: int
    # Mean share of the shorter answer that both start with, over all prompts.
    mean_common_prefix: float

    @property
    def rate(self) -> float:
        return self.identical / self.total if self.total else 0.0


def common_prefix_share(first: str, second: str) -> float:
    shorter = min(len(first), len(second))
    if shorter == 0:
        return 1.0 if first == second else 0.0
    same = next((i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b), shorter)
    return same / shorter


def compare(answers: dict[str, list[str]]) -> list[PairAgreement]:
    """Every pair of engines, prompt by prompt."""
    pairs = []
    for one, other in itertools.combinations(answers, 2):
        texts = list(zip(answers[one], answers[other], strict=True))
        pairs.append(
            PairAgreement(
                (one, other),
                identical=sum(a == b for a, b in texts),
                total=len(texts),
                mean_common_prefix=sum(common_prefix_share(a, b) for a, b in texts)
                / max(len(texts), 1),
            )
        )
    return pairs


async def greedy_answers(
    gateway_url: str, model: str, prompts: list[str], max_tokens: int
) -> list[str]:
    """One engine's answers, a few at a time (the engines batch them; greedy answers do not
    depend on the batch, which the agreement itself checks)."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=300) as client:

        async def ask(prompt: str) -> str:
            response = await client.post(
                "/v1/chat/completions",
                # no-store: the engine answers, not the gateway's cache.
                headers={"Cache-Control": "no-store"},
                json={
                    "model": model,
                    "messages": [{"role": "user", "content": prompt}],
                    "temperature": 0,
                    "max_tokens": max_tokens,
                },
            )
            response.raise_for_status()
            return str(response.json()["choices"][0]["message"]["content"] or "")

        return list(await asyncio.gather(*(ask(prompt) for prompt in prompts)))


async def measure(gateway_url: str, max_tokens: int) -> dict[str, list[str]]:
    return {
        engine: await greedy_answers(gateway_url, model, PROMPTS, max_tokens)
        for engine, model in ENGINE_MODELS.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.agreement", description=__doc__)
    parser.add_argument("--gateway-url", default=os.environ.get("URL", "http://127.0.0.1:8000"))
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--show", action="store_true", help="print every answer that differs")
    args = parser.parse_args(argv)
    answers = asyncio.run(measure(args.gateway_url, args.max_tokens))
    print(f"{len(PROMPTS)} prompts, temperature 0, max_tokens {args.max_tokens}")
    for pair in compare(answers):
        one, other = pair.engines
        print(
            f"  {one:>8} vs {other:<8} identical {pair.identical}/{pair.total} "
            f"({pair.rate:.0%}), common prefix {pair.mean_common_prefix:.0%}"
        )
    if args.show:
        for index, prompt in enumerate(PROMPTS):
            texts = {engine: answers[engine][index] for engine in answers}
            if len(set(texts.values())) > 1:
                print(json.dumps({"prompt": prompt, **texts}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
