"""(a) Failover: `streams` streamed chats at once at temperature 0, first undisturbed, then
again with one llama-server killed (SIGKILL) once `kill_after_chunks` chunks of text have
arrived in all; supervisord starts it again. Counted: failed requests, streams without a
finish_reason, and answers that differ from the undisturbed run's.

Equal answers need one slot per replica (`--failover-parallel 1`, the default): llama.cpp's
greedy output depends on which requests share its batch, so with more slots answers differ
between two undisturbed runs too (half of 20 did, measured here).
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from bench.agreement import PROMPTS
from bench.routing.stack import MODEL
from bench.streams import StreamOutcome, TextChunkCount, gateway_client, stream_chat


@dataclass(frozen=True)
class FailoverResult:
    streams: int
    max_tokens: int
    failed: int
    without_finish_reason: int
    answers_differing: int
    undisturbed_failed: int  # should be 0: else the comparison means little
    chunks_before_kill: int
    undisturbed_s: float
    disturbed_s: float
    ttft_p50_undisturbed_s: float | None
    ttft_p50_disturbed_s: float | None
    errors: list[str]  # the distinct errors, a few

    def row(self) -> dict[str, object]:
        return {
            "streams": self.streams,
            "failed": self.failed,
            "no finish_reason": self.without_finish_reason,
            "answers differ": self.answers_differing,
            "s undisturbed": self.undisturbed_s,
            "s with kill": self.disturbed_s,
        }


def prompts(count: int) -> list[str]:
    return [f"{PROMPTS[i % len(PROMPTS)]} (Question {i + 1}.)" for i in range(count)]


async def _streams(
    gateway_url: str, questions: list[str], max_tokens: int, on_text: Callable[[], None]
) -> tuple[list[StreamOutcome], float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with gateway_client(gateway_url) as client:
        outcomes = await asyncio.gather(
            *(
                stream_chat(
                    client,
                    MODEL,
                    [{"role": "user", "content": question}],
                    max_tokens=max_tokens,
                    on_text=on_text,
                )
                for question in questions
            )
        )
    return list(outcomes), loop.time() - started


def _median_ttft(outcomes: list[StreamOutcome]) -> float | None:
    ttfts = [o.ttft_s for o in outcomes if o.ttft_s is not None]
    return statistics.median(ttfts) if ttfts else None


async def measure_failover(
    gateway_url: str,
    kill: Callable[[], object],
    *,
    streams: int,
    max_tokens: int,
    kill_after_chunks: int,
) -> FailoverResult:
    """`kill` ends one replica; it is called from the event loop once streams are under way."""
    questions = prompts(streams)
    undisturbed, undisturbed_s = await _streams(gateway_url, questions, max_tokens, lambda: None)

    chunks = TextChunkCount(kill_after_chunks)

    async def killer() -> None:
        await chunks.reached.wait()
        kill()

    killing = asyncio.create_task(killer())
    disturbed, disturbed_s = await _streams(gateway_url, questions, max_tokens, chunks)
    killed = killing.done()
    killing.cancel()
    if not killed:
        raise RuntimeError(f"the streams ended before {kill_after_chunks} chunks: no kill")

    errors = sorted({o.error for o in disturbed if o.error})
    return FailoverResult(
        streams=streams,
        max_tokens=max_tokens,
        failed=sum(o.error is not None for o in disturbed),
        without_finish_reason=sum(o.finish_reason is None for o in disturbed),
        answers_differing=sum(
            (before.text, before.finish_reason) != (after.text, after.finish_reason)
            for before, after in zip(undisturbed, disturbed, strict=True)
        ),
        undisturbed_failed=sum(not o.ended_well for o in undisturbed),
        chunks_before_kill=kill_after_chunks,
        undisturbed_s=undisturbed_s,
        disturbed_s=disturbed_s,
        ttft_p50_undisturbed_s=_median_ttft(undisturbed),
        ttft_p50_disturbed_s=_median_ttft(disturbed),
        errors=errors[:5],
    )
