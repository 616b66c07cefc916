"""What a local engine was actually asked and answered, for the translation debug mode
(`debug_translation`): the prompt exactly as formatted and the engine's raw text, before
tool-call parsing. Filled in by the generation path; rendered by the front door."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEBUG_HEADER = "x-inferstack-debug"
DEBUG_TRANSLATION = "translation"


@dataclass(slots=True)
class TranslationCapture:
    """One request's capture. `prompt` stays None when no local engine was asked (a cache
    or a hosted upstream answered)."""

    prompt: str | None = None
    raw_chunks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        raw = "".join(self.raw_chunks) if self.prompt is not None else None
        return {"prompt": self.prompt, "raw_completion": raw}


def translation_debug_requested(header: str | None) -> bool:
    """`X-Inferstack-Debug: translation` (case and spaces aside)."""
    return header is not None and header.strip().lower() == DEBUG_TRANSLATION
