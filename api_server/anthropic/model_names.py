"""Which model serves a Claude model name.

Anthropic clients ask for `claude-3-5-sonnet-latest` and the like. `anthropic_model_map`
(settings) maps glob patterns, matched case-insensitively in order, to model names; the
target `default` means the registry's default model, or the name unchanged where there is
none (proxy mode). A name an entry of the registry claims itself is never remapped, so a
catch-all pattern cannot hide a registered model; a name only the registry's catch-all
entry would take is mapped like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fnmatch import fnmatchcase

DEFAULT_TARGET = "default"


def map_model_name(
    requested: str,
    model_map: Mapping[str, str],
    is_registered: Callable[[str], bool],
    default_model: str | None,
) -> str:
    """The name to look up in the registry (which then forgives case and aliases).
    `default_model` None: the registry has no default of its own (only a catch-all)."""
    if is_registered(requested):
        return requested
    folded = requested.casefold()
    for pattern, target in model_map.items():
        if fnmatchcase(folded, pattern.casefold()):
            if target == DEFAULT_TARGET:
                return requested if default_model is None else default_model
            return target
    return requested
