"""The sampling a chat or completion asks for, whichever engine serves it: the sampler's
settings, what the output must be (`OutputFormat`, structured outputs) and what to report of
it (`logprobs`). All of it can change the answer, so all of it keys the caches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api_server.errors import InvalidRequestError

# Every front door's bound on stop strings (OpenAI's own count): each one is searched for,
# and text that could start one held back, on every piece of text the engine streams.
MAX_STOP_SEQUENCES = 4
MAX_STOP_CHARS = 256


# OpenAI's bound on top_logprobs (llama.cpp's and vLLM's defaults allow as many).
MAX_TOP_LOGPROBS = 20


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """A structured output: any JSON object (`schema` None: OpenAI's `json_object`), or JSON
    valid against `schema` (`json_schema`, already refused or accepted by client_schemas).
    Engines that can constrain their decoding to it do; others refuse it (400)."""

    schema: dict[str, Any] | None = None
    name: str | None = None  # the client's name for the schema
    strict: bool = False
    # The request field that asked for it (response_format, text.format, output_format),
    # named by a refusal.
    param: str = "response_format"

    @property
    def constraint(self) -> dict[str, Any]:
        """The schema an engine holds the answer to (`json_object`: any object)."""
        return self.schema if self.schema is not None else {"type": "object"}


@dataclass(frozen=True, slots=True)
class SamplingParams:
    max_tokens: int
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    output_format: OutputFormat | None = None
    # None: no logprobs; k (0 to MAX_TOP_LOGPROBS): each token's logprob and its k likeliest
    # alternatives.
    logprobs: int | None = None
    # vLLM's extension, which llama.cpp and MAX share: generate max_tokens whatever the
    # model's end of turn (benchmarks want output lengths they chose). Only the client's own
    # stop strings end it then.
    ignore_eos: bool = False


def bounded_stops(stops: Sequence[str], *, param: str) -> tuple[str, ...]:
    """`stops` as given, or a 400 naming `param` when there are too many or one is too long."""
    if len(stops) > MAX_STOP_SEQUENCES:
        raise InvalidRequestError(
            f"at most {MAX_STOP_SEQUENCES} stop sequences are allowed, got {len(stops)}",
            param=param,
        )
    for index, stop in enumerate(stops):
        if len(stop) > MAX_STOP_CHARS:
            raise InvalidRequestError(
                f"stop sequence {index} is {len(stop)} characters long; "
                f"at most {MAX_STOP_CHARS} are allowed",
                param=f"{param}[{index}]",
            )
    return tuple(stops)
