"""Which local model serves a Claude model name.

Anthropic clients ask for `claude-3-5-sonnet-latest` and the like. `anthropic_model_map`
(settings) maps glob patterns, matched case-insensitively in order, to local model names;
the target `default` means the registry's default model. A name the registry knows itself
is never remapped, so a catch-all pattern cannot hide a local model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fnmatch import fnmatchcase

DEFAULT_TARGET = "default"


def map_model_name(
    requested: str,
    model_map: Mapping[str, str],
    is_registered: Callable[[str], bool],
    default_model: str,
) -> str:
    """The name to look up in the registry (which then forgives case and aliases)."""
    if is_registered(requested):
        return requested
    folded = requested.casefold()
    for pattern, target in model_map.items():
        if fnmatchcase(folded, pattern.casefold()):
            return default_model if target == DEFAULT_TARGET else target
    return requested
