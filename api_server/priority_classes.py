"""The admission queues' priority classes (api_server/admission), low in the layers: a key
in the settings or the database carries one, and authentication hands it on."""

from __future__ import annotations

from typing import Literal

PriorityClass = Literal["high", "normal", "low"]
PRIORITY_CLASSES: tuple[PriorityClass, ...] = ("high", "normal", "low")  # served first to last


def priority_class(value: object) -> PriorityClass | None:
    """A key's stored or a token's claimed class; None when it has none, or one this gateway
    does not know (a token's odd claim is no reason to refuse its caller)."""
    if isinstance(value, str) and value in PRIORITY_CLASSES:
        return value
    return None
