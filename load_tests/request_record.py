"""One request of an open-loop run, and the per-request figures vLLM's `bench serve` reports.

Definitions (as in vLLM's `benchmark_serving`):

- TTFT: request sent → first chunk carrying content or a tool call (streamed answers only);
- ITL: every gap between two successive token-carrying chunks of a stream;
- TPOT: (E2E - TTFT) / (output tokens - 1): the mean time per output token after the first
  (streamed answers with at least 2 output tokens);
- E2E: request sent → last byte of the answer;
- output tokens: the server's `usage.completion_tokens`; the client also counts the
  token-carrying chunks of a stream, and the two counts are compared (a mismatch means the
  server sent several tokens per chunk, or miscounted).

Times are seconds on one clock, counted from the start of the step's measured window (so
warm-up requests have negative offsets). Pure: no Locust.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    """What one request got back, as the locustfile read it."""

    ok: bool
    ttft_ms: float | None = None
    itl_ms: tuple[float, ...] = ()
    client_tokens: int | None = None  # token-carrying chunks of a stream
    server_tokens: int | None = None  # usage.completion_tokens
    timed_out: bool = False
    error: str | None = None
    requested_tokens: int | None = None  # the request's max_tokens, where it set one
    text: str | None = None  # a stream's text, for a conversation's next turn (then dropped)


@dataclass(frozen=True)
class RequestRecord:
    scheduled_s: float  # when the schedule said to send it
    sent_s: float  # when it was sent (late when the client could not keep up)
    done_s: float  # when its answer ended (or it failed)
    answer: Answer
    repeat: int = 0  # which run of its step (--repeat): each has its own window and clock

    @property
    def e2e_ms(self) -> float:
        return (self.done_s - self.sent_s) * 1000

    @property
    def lateness_ms(self) -> float:
        return max(0.0, self.sent_s - self.scheduled_s) * 1000

    @property
    def output_tokens(self) -> int | None:
        answer = self.answer
        return answer.server_tokens if answer.server_tokens is not None else answer.client_tokens

    @property
    def tpot_ms(self) -> float | None:
        tokens = self.output_tokens
        ttft = self.answer.ttft_ms
        if ttft is None or tokens is None or tokens < 2:
            return None
        return (self.e2e_ms - ttft) / (tokens - 1)

    @property
    def token_count_mismatch(self) -> bool:
        client, server = self.answer.client_tokens, self.answer.server_tokens
        return client is not None and server is not None and client != server
