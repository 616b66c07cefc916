"""The semantic cache: an answer found by the meaning of the conversation's last user turn
(its embedding, searched in Qdrant), for requests that opt in.

Only a near-duplicate is served: cosine similarity at or above a conservative threshold
(0.95 by default), and only between requests that agree on everything else — model,
sampling parameters, tenant, and the context (system prompt, tools, earlier turns), each
a filter on the search — and whose entry has not expired. MiniLM scores a question and its
negation very close ("Is Paris the capital of France?" / "... not the capital ..." = 0.954),
so a hit also needs the same negation words in both questions.

Like the exact cache it is an optimisation only: embedding or Qdrant failing or slow means a
miss (counted in `inferstack_cache_errors_total`), never a failed request. The recording is
kept in the point's payload, so one Qdrant search returns the answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from api_server.cache.stored_events import (
    RecordingError,
    TimedEvent,
    decode_recording,
    encode_recording,
)
from api_server.chat.conversation import Conversation
from api_server.chat.sampling import SamplingParams
from api_server.embeddings.backend import Embedder
from api_server.metrics import CacheMetrics

if TYPE_CHECKING:
    from qdrant_client import AsyncQdrantClient

logger = logging.getLogger(__name__)

COLLECTION = "inferstack_semantic_cache"
_NEGATIONS = frozenset(
    {"not", "no", "never", "none", "nobody", "nothing", "nowhere", "neither", "nor", "without"}
    | {"cannot", "cant"}
)
_WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True, slots=True)
class SemanticQuery:
    """What a request is looked up by: the text embedded, and the exact-match filters."""

    text: str
    model: str
    sampling_hash: str
    context_hash: str
    tenant: str

    def filters(self) -> dict[str, str]:
        return {
            "model": self.model,
            "sampling_hash": self.sampling_hash,
            "context_hash": self.context_hash,
            "tenant": self.tenant,
        }


def semantic_query(
    model: str, conversation: Conversation, sampling: SamplingParams, tenant: str | None
) -> SemanticQuery | None:
    """None when the conversation does not end with a user's text (a tool result, say) or
    when that message holds images."""
    *context, last = conversation.messages
    if last.role != "user" or not last.content or not last.content.strip():
        return None
    if last.images:  # "what is in this picture?" says nothing of the picture
        return None
    canonical_context = orjson.dumps(
        {"messages": context, "tools": conversation.tools, "choice": conversation.tool_choice},
        option=orjson.OPT_SORT_KEYS,
    )
    return SemanticQuery(
        text=last.content,
        model=model,
        sampling_hash=_digest(orjson.dumps(sampling, option=orjson.OPT_SORT_KEYS)),
        context_hash=_digest(canonical_context),
        tenant=tenant or "",
    )


def negation_words(text: str) -> frozenset[str]:
    """The negations in `text` ("isn't" counts as "not")."""
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    found = {"not" if w.endswith("n't") else w for w in words}
    return frozenset(found & _NEGATIONS)


@dataclass(frozen=True, slots=True)
class SemanticHit:
    events: list[TimedEvent]
    score: float


@dataclass(slots=True)
class SemanticProbe:
    """A lookup's query and its embedding, kept to store the answer without embedding again."""

    query: SemanticQuery
    vector: list[float] | None = None


class SemanticCache:
    def __init__(
        self,
        qdrant: AsyncQdrantClient,
        embedder: Embedder,
        metrics: CacheMetrics,
        *,
        threshold: float,
        timeout_s: float,
        default_ttl_s: int,
        replay_max_ms: float | None,
        collection: str = COLLECTION,
        max_pending_stores: int = 64,
    ) -> None:
        self.qdrant = qdrant
        self.embedder = embedder
        self.metrics = metrics
        self.threshold = threshold
        self.timeout_s = timeout_s
        self.default_ttl_s = default_ttl_s
        self.replay_max_ms = replay_max_ms
        self.collection = collection
        self.max_pending_stores = max_pending_stores
        self._pending: set[asyncio.Task[None]] = set()
        self._collection_ready = False

    async def lookup(self, probe: SemanticProbe) -> SemanticHit | None:
        if not self.embedder.ready():
            # A cold model takes seconds to load: miss now rather than hold the request.
            self.metrics.errors.labels("semantic_warming").inc()
            return None
        try:
            async with asyncio.timeout(self.timeout_s):
                probe.vector = await self._embed(probe.query.text)
                await self._ensure_collection()
                points = await self._search(probe.query, probe.vector)
        except Exception as exc:  # embedder, Qdrant or timeout: never fail a request
            self._failed("semantic_lookup", exc)
            return None
        asked = negation_words(probe.query.text)
        for point in points:
            payload = point.payload or {}
            if negation_words(str(payload.get("text", ""))) != asked:
                continue  # "is X" vs "is X not": close vectors, opposite questions
            try:
                events = decode_recording(str(payload["recording"]).encode())
            except (RecordingError, KeyError) as exc:
                self._failed("semantic_decode", exc)
                continue
            return SemanticHit(events, float(point.score))
        return None

    def store_later(self, probe: SemanticProbe, events: list[TimedEvent], ttl_s: int) -> None:
        if len(self._pending) >= self.max_pending_stores:
            self._failed("semantic_store_dropped", None)
            return
        task = asyncio.create_task(self._store(probe, encode_recording(events), ttl_s))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def _embed(self, text: str) -> list[float]:
        return (await self.embedder.embed([text])).vectors[0]

    async def _ensure_collection(self) -> None:
        if self._collection_ready:
            return
        from qdrant_client import models

        if not await self.qdrant.collection_exists(self.collection):
            try:
                await self.qdrant.create_collection(
                    self.collection,
                    vectors_config=models.VectorParams(
                        size=self.embedder.dimensions, distance=models.Distance.COSINE
                    ),
                )
            except Exception:  # another worker created it first
                if not await self.qdrant.collection_exists(self.collection):
                    raise
        self._collection_ready = True

    async def _search(self, query: SemanticQuery, vector: list[float]) -> list[Any]:
        from qdrant_client import models

        must: list[models.Condition] = [
            models.FieldCondition(key=key, match=models.MatchValue(value=value))
            for key, value in query.filters().items()
        ]
        must.append(models.FieldCondition(key="expires_at", range=models.Range(gt=time.time())))
        response = await self.qdrant.query_points(
            self.collection,
            query=vector,
            query_filter=models.Filter(must=must),
            score_threshold=self.threshold,
            limit=3,
            with_payload=True,
        )
        return list(response.points)

    async def _store(self, probe: SemanticProbe, recording: bytes, ttl_s: int) -> None:
        from qdrant_client import models

        try:
            async with asyncio.timeout(max(self.timeout_s, 5.0)):  # off the request path
                vector = probe.vector or await self._embed(probe.query.text)
                await self._ensure_collection()
                payload_key = {**probe.query.filters(), "text": probe.query.text}
                payload = {
                    **probe.query.filters(),
                    "text": probe.query.text,
                    "expires_at": time.time() + ttl_s,
                    "recording": recording.decode(),
                }
                # One point per question and filters: a repeated miss replaces, not piles up.
                point_id = str(uuid.UUID(hex=_digest(orjson.dumps(payload_key))[:32]))
                point = models.PointStruct(id=point_id, vector=vector, payload=payload)
                await self.qdrant.upsert(self.collection, points=[point])
        except Exception as exc:  # never fail a request
            self._failed("semantic_store", exc)

    def _failed(self, operation: str, exc: BaseException | None) -> None:
        self.metrics.errors.labels(operation).inc()
        logger.debug("cache %s failed: %r", operation, exc)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
