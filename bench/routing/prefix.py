"""(b) Prefix-aware routing: `conversations` chats of `turns` turns each at once, every one
behind the same long system prompt (system_prompt.txt, ~1,470 tokens of a shop's support
instructions) followed by its own customer's details, each turn resending the whole
conversation with the model's answers so far. Time to first token and output tokens/s, per
routing policy.

Sampled (temperature 0.7): the gateway lets llama.cpp reuse a cached prefix only for sampled
requests (a temperature-0 answer must not depend on what the engine served before). Every
round opens new conversations (other customers), so no policy finds another round's
conversations cached; the shared instructions are cached for both alike.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

import openai
from openai.types.chat import ChatCompletionMessageParam

from bench.loadgen import percentile
from bench.routing.engine_counters import PromptTokens, prompt_tokens
from bench.routing.stack import MODEL
from bench.streams import StreamOutcome, gateway_client, stream_chat

SYSTEM_PROMPT = (Path(__file__).parent / "system_prompt.txt").read_text()
QUESTIONS = (
    "Hi, I ordered a rain jacket last week and it has not arrived yet. Can you help?",
    "The tracking link has shown the same status for four days. Is that normal?",
    "If it does not come, can I get a refund instead of a replacement?",
    "Also, the sleeping bag from my previous order has a broken zip. Is that covered?",
    "How do I send it in, and how long will the repair take?",
    "Can I pick up the replacement jacket in a store instead?",
    "What are the opening hours of the store?",
    "I have a student discount code. Can I still use it on this order?",
    "How should I wash the jacket so that it stays waterproof?",
    "Thanks. Can you summarise what happens next with my order and the repair?",
)
FIRST_NAMES = ("Ana", "Ben", "Chloe", "Deniz", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jun")
CITIES = ("Hamburg", "Lyon", "Utrecht", "Denver", "Portland", "Vienna", "Oslo", "Turin")


def system_message(conversation: int, round_number: int) -> str:
    """The shared instructions, then this conversation's customer (new in every round)."""
    serial = round_number * 1000 + conversation
    name = FIRST_NAMES[serial % len(FIRST_NAMES)]
    city = CITIES[(serial // len(FIRST_NAMES)) % len(CITIES)]
    return (
        f"{SYSTEM_PROMPT}\n## This conversation\n"
        f"Customer: {name} (account {serial:06d}), delivery address in {city}, customer "
        f"since {2015 + serial % 10}. Open order: NW-{700000 + serial * 37}, status "
        f"'shipped'. Previous order: NW-{600000 + serial * 41}, delivered.\n"
    )


@dataclass
class PolicyRun:
    """One policy's turns over the rounds."""

    policy: str
    ttfts_s: list[float] = field(default_factory=list)
    completion_tokens: int = 0
    seconds: float = 0.0
    failed: int = 0
    # Per replica: prompt tokens computed, and found in its cache (its own counters).
    prompt_tokens: list[PromptTokens] = field(default_factory=list)

    def add(
        self, outcomes: list[StreamOutcome], seconds: float, prompt_tokens: list[PromptTokens]
    ) -> None:
        self.ttfts_s += [o.ttft_s for o in outcomes if o.ttft_s is not None]
        self.completion_tokens += sum(o.completion_tokens for o in outcomes)
        self.seconds += seconds
        self.failed += sum(not o.ended_well for o in outcomes)
        totals = self.prompt_tokens or [PromptTokens()] * len(prompt_tokens)
        self.prompt_tokens = [a + b for a, b in zip(totals, prompt_tokens, strict=True)]

    @property
    def ttft_p50_s(self) -> float | None:
        return statistics.median(self.ttfts_s) if self.ttfts_s else None

    @property
    def ttft_p95_s(self) -> float | None:
        return percentile(self.ttfts_s, 95)

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.seconds

    def row(self) -> dict[str, object]:
        return {
            "policy": self.policy,
            "turns": len(self.ttfts_s),
            "failed": self.failed,
            "TTFT p50 s": self.ttft_p50_s,
            "TTFT p95 s": self.ttft_p95_s,
            "tok/s": self.tokens_per_s,
            "prompt tokens computed per replica": "/".join(
                str(t.computed) for t in self.prompt_tokens
            ),
            "cached": "/".join(str(t.cached) for t in self.prompt_tokens),
        }

    def report(self) -> dict[str, object]:
        return {
            **asdict(self),
            "ttft_p50_s": self.ttft_p50_s,
            "ttft_p95_s": self.ttft_p95_s,
            "tokens_per_s": self.tokens_per_s,
        }


async def _conversation(
    client: openai.AsyncOpenAI, number: int, round_number: int, turns: int, max_tokens: int
) -> list[StreamOutcome]:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": system_message(number, round_number)}
    ]
    outcomes = []
    for turn in range(turns):
        question = QUESTIONS[(number + turn) % len(QUESTIONS)]
        messages.append({"role": "user", "content": question})
        outcome = await stream_chat(client, MODEL, messages, max_tokens=max_tokens, temperature=0.7)
        outcomes.append(outcome)
        messages.append({"role": "assistant", "content": outcome.text})
    return outcomes


async def run_round(
    gateway_url: str, round_number: int, *, conversations: int, turns: int, max_tokens: int
) -> tuple[list[StreamOutcome], float]:
    """All conversations at once, each turn after the last; every turn's outcome and the
    round's wall time."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with gateway_client(gateway_url) as client:
        chats = await asyncio.gather(
            *(
                _conversation(client, number, round_number, turns, max_tokens)
                for number in range(conversations)
            )
        )
    return [outcome for chat in chats for outcome in chat], loop.time() - started


async def measure_prefix(
    gateway_urls: dict[str, str],
    engine_urls: list[str],
    *,
    rounds: int,
    conversations: int,
    turns: int,
    max_tokens: int,
) -> list[PolicyRun]:
    """Each round runs every policy's gateway in turn, the order alternating from round to
    round so that drift in the machine's speed hits all alike."""
    runs = {policy: PolicyRun(policy) for policy in gateway_urls}
    order = list(gateway_urls)
    for round_number in range(rounds):
        for policy in order if round_number % 2 == 0 else reversed(order):
            before = await prompt_tokens(engine_urls)
            outcomes, seconds = await run_round(
                gateway_urls[policy],
                # Round numbers differ per policy too: no policy meets the other's customers.
                round_number * len(order) + order.index(policy),
                conversations=conversations,
                turns=turns,
                max_tokens=max_tokens,
            )
            after = await prompt_tokens(engine_urls)
            done = [a - b for a, b in zip(after, before, strict=True)]
            runs[policy].add(outcomes, seconds, done)
            print(
                f"  round {round_number + 1} {policy:<10} {len(outcomes)} turns in "
                f"{seconds:.1f} s, prompt tokens computed per replica "
                f"{'/'.join(str(t.computed) for t in done)}, {runs[policy].failed} failed so far"
            )
    return list(runs.values())
