"""The registry's limits on what one request may ask a model for, applied the same way on
every path: translated into chat (local engine or hosted upstream) or relayed as is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from api_server.chat.sampling import MAX_STOP_SEQUENCES, bounded_stops
from api_server.errors import UnsupportedFeatureError
from api_server.registry import ModelSpec


@dataclass(frozen=True, slots=True)
class CompletionLimits:
    max_tokens: int
    stops: tuple[str, ...]


def checked_completion(
    spec: ModelSpec,
    *,
    max_tokens: int | None,
    n: int | None = None,
    stop: str | Sequence[str] | None = None,
    max_stops: int | None = MAX_STOP_SEQUENCES,
) -> CompletionLimits:
    """The request's max_tokens budget and stop sequences, or a 400: max_tokens over the
    model's limit, more than one choice (`n`), more stop sequences than `max_stops`."""
    if n not in (None, 1):
        raise UnsupportedFeatureError(
            f"n={n} is not supported: this gateway returns one choice per request", param="n"
        )
    stops = (stop,) if isinstance(stop, str) else tuple(stop or ())
    if max_stops is not None:
        stops = bounded_stops(stops, param="stop")
    return CompletionLimits(spec.completion_budget(max_tokens), stops)
