"""A stand-in for the sentence-transformers model inside a real `LocalEmbedder`: what the
embedder does around the model (its pool, its bound, cancellation) is what is tested; the
real model (torch) costs seconds to load and is exercised by the integration tests."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from api_server.embeddings.backend import LocalEmbedder


class GatedModel:
    """Encodes one unit vector per text once `gate` is open; `started` is set as the first
    encode begins, so a test knows the pool's one thread is busy."""

    def __init__(self, *, open_gate: bool = True) -> None:
        self.gate = threading.Event()
        if open_gate:
            self.gate.set()
        self.started = threading.Event()
        self.encoded: list[str] = []

    def encode(self, texts: list[str], **_: Any) -> np.ndarray[Any, Any]:
        self.started.set()
        self.gate.wait(timeout=30)  # a safety net for a broken test, not a timing
        self.encoded.extend(texts)
        vectors = np.zeros((len(texts), LocalEmbedder.dimensions), dtype=np.float32)
        vectors[:, 0] = 1.0
        return vectors

    def tokenizer(self, texts: list[str]) -> dict[str, list[list[str]]]:
        return {"input_ids": [text.split() for text in texts]}


def local_embedder(model: GatedModel, **options: Any) -> LocalEmbedder:
    embedder = LocalEmbedder("all-MiniLM-L6-v2", **options)
    embedder._model = model  # loaded already
    return embedder
