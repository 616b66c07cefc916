"""Streamed chats through the official openai SDK, each one's outcome kept rather than raised:
its text, finish_reason, time to first token, or the error that ended it. Shared by
bench.routing and tests/integration/test_failover.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam

# The exact response cache would answer a repeated request without the engines.
NO_STORE = {"Cache-Control": "no-store"}


def gateway_client(gateway_url: str, api_key: str = "unused") -> openai.AsyncOpenAI:
    """The SDK on a gateway: no retries (a failure counts as one), and patient (a request may
    queue behind dozens on a CPU)."""
    return openai.AsyncOpenAI(
        base_url=f"{gateway_url}/v1", api_key=api_key, max_retries=0, timeout=900
    )


@dataclass
class StreamOutcome:
    text: str = ""
    finish_reason: str | None = None
    ttft_s: float | None = None  # to the first chunk carrying text
    elapsed_s: float = 0.0
    completion_tokens: int = 0  # from the stream's usage chunk
    error: str | None = None

    @property
    def ended_well(self) -> bool:
        """No error, and a finish_reason: the stream ended as a complete answer."""
        return self.error is None and self.finish_reason is not None


async def stream_chat(
    client: openai.AsyncOpenAI,
    model: str,
    messages: Sequence[ChatCompletionMessageParam],
    *,
    max_tokens: int,
    temperature: float = 0.0,
    headers: dict[str, str] | None = None,
    on_text: Callable[[], None] | None = None,
) -> StreamOutcome:
    """One streamed chat read to its end; `on_text` is called at each chunk carrying text."""
    outcome = StreamOutcome()
    pieces: list[str] = []
    started = time.perf_counter()
    try:
        stream = await client.chat.completions.create(
            model=model,
            messages=messages,
            max_tokens=max_tokens,
            temperature=temperature,
            stream=True,
            stream_options={"include_usage": True},
            extra_headers={**NO_STORE, **(headers or {})},
        )
        async for chunk in stream:
            if chunk.usage is not None:
                outcome.completion_tokens = chunk.usage.completion_tokens
            for choice in chunk.choices:
                if choice.delta.content:
                    if outcome.ttft_s is None:
                        outcome.ttft_s = time.perf_counter() - started
                    pieces.append(choice.delta.content)
                    if on_text is not None:
                        on_text()
                outcome.finish_reason = choice.finish_reason or outcome.finish_reason
    # The SDK raises APIError for an HTTP error or an error event in the stream; a connection
    # cut mid-stream surfaces from httpx as it is.
    except (openai.APIError, httpx.HTTPError) as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
    outcome.text = "".join(pieces)
    outcome.elapsed_s = time.perf_counter() - started
    return outcome


class TextChunkCount:
    """Counts chunks carrying text across streams; `reached` is set at the `threshold`-th,
    e.g. to kill a replica once streams are under way."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.count = 0
        self.reached = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        if self.count >= self.threshold:
            self.reached.set()
