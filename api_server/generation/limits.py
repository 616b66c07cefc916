"""The registry's limits on what one request may ask a model for, applied the same way on
every path: translated into chat (local engine or hosted upstream) or relayed as is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from api_server.chat.sampling import MAX_STOP_SEQUENCES, bounded_stops
from api_server.errors import InvalidRequestError
from api_server.registry import ModelSpec

# Choices one request may ask for (OpenAI's `n`): each is a generation of its own.
MAX_CHOICES = 16


@dataclass(frozen=True, slots=True)
class CompletionLimits:
    max_tokens: int
    stops: tuple[str, ...]
    choices: int = 1


def checked_completion(
    spec: ModelSpec,
    *,
    max_tokens: int | None,
    n: int | None = None,
    stop: str | Sequence[str] | None = None,
    max_stops: int | None = MAX_STOP_SEQUENCES,
) -> CompletionLimits:
    """The request's max_tokens budget, stop sequences and number of choices, or a 400:
    max_tokens over the model's limit, `n` outside 1 to MAX_CHOICES, more stop sequences
    than `max_stops`."""
    choices = 1 if n is None else n
    if not 1 <= choices <= MAX_CHOICES:
        raise InvalidRequestError(
            f"n must be between 1 and {MAX_CHOICES} (each choice is a generation), got {n}",
            param="n",
        )
    stops = (stop,) if isinstance(stop, str) else tuple(stop or ())
    if max_stops is not None:
        stops = bounded_stops(stops, param="stop")
    return CompletionLimits(spec.completion_budget(max_tokens), stops, choices)
