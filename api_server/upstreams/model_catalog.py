"""The model ids a hosted upstream lists (`GET {base}/models`), to send a model name in the
upstream's own spelling (`GPT-4o` → `gpt-4o`): proxy mode's catch-all entry passes
clients' names on, and an OpenAI-style upstream may know a name only in its own case.

One catalog per gateway, built with the app state. Each model entry's list is kept for
`ttl_s` per credential it was fetched with (a key may see models another does not); a
failed fetch is remembered for `failure_ttl_s`, so a down upstream is not asked once per
request; callers arriving while a fetch runs wait for that one. A name the list cannot
spell (no list, no match, several spellings) passes unchanged: the upstream judges it.
The URL is the registry entry's, never anything a client sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from api_server.auth.repository import ExpiringLru
from api_server.engines.client import EngineReplica
from api_server.generation.request import ModelRuntime
from api_server.upstreams.credentials import upstream_headers, upstream_key
from api_server.upstreams.endpoints import upstream_url

logger = logging.getLogger(__name__)

MODELS_PATH = "/v1/models"
DEFAULT_TTL_S = 300.0
DEFAULT_FAILURE_TTL_S = 30.0
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
# Lists remembered (model entries by credentials): each client key of auth style `header`
# has its own, and clients choose their keys.
_MAX_LISTS = 256
_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ModelSpellings:
    """An upstream's model ids: each by itself, and by its case-folded form (None where
    several ids fold alike, so that no one of them is guessed)."""

    exact: frozenset[str]
    folded: Mapping[str, str | None]

    @classmethod
    def of(cls, ids: Iterable[str]) -> ModelSpellings:
        exact = frozenset(ids)
        folded: dict[str, str | None] = {}
        for model_id in exact:
            key = model_id.casefold()
            folded[key] = None if key in folded else model_id
        return cls(exact, folded)

    def spelling(self, name: str) -> str | None:
        """`name` as the upstream spells it; None when it lists no such model."""
        if name in self.exact:
            return name
        return self.folded.get(name.casefold())


def listed_model_ids(payload: Any) -> list[str] | None:
    """The ids of an OpenAI-style model list (`{"data": [{"id": ...}, ...]}`); None for
    anything else."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        return None
    return [
        item["id"] for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]


@dataclass(frozen=True, slots=True)
class _Listed:
    spellings: ModelSpellings | None  # None: the fetch failed


class ModelCatalog:
    """Model lists of hosted upstreams, fetched on demand and kept for a while."""

    def __init__(
        self,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        failure_ttl_s: float = DEFAULT_FAILURE_TTL_S,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.failure_ttl_s = failure_ttl_s
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self._clock = clock
        # By model entry and digest of the credential sent.
        self._lists: ExpiringLru[_Listed] = ExpiringLru(_MAX_LISTS)
        self._fetches: dict[str, asyncio.Task[ModelSpellings | None]] = {}

    async def spelling(
        self, runtime: ModelRuntime, name: str, client_headers: Mapping[str, str]
    ) -> str:
        """`name` as `runtime`'s upstream lists it, or unchanged. `client_headers` give the
        credential where the entry's auth style sends the client's own."""
        spellings = await self._spellings(runtime, client_headers)
        found = spellings.spelling(name) if spellings is not None else None
        if found is None:
            logger.debug(
                "model %r: %s; sent as is",
                name,
                "no model list from the upstream" if spellings is None else "not listed",
            )
            return name
        return found

    async def close(self) -> None:
        """Stop the fetches still running (the app is shutting down)."""
        fetches = list(self._fetches.values())
        for fetch in fetches:
            fetch.cancel()
        await asyncio.gather(*fetches, return_exceptions=True)

    async def _spellings(
        self, runtime: ModelRuntime, client_headers: Mapping[str, str]
    ) -> ModelSpellings | None:
        engine = runtime.spec.engine
        key = upstream_key(engine, client_headers, runtime.upstream_key)
        digest = hashlib.sha256(key.encode()).hexdigest()[:16] if key else ""
        catalog_key = f"{runtime.pool.model}\n{digest}"
        listed = self._lists.get(catalog_key, self._clock())
        if listed is not None:
            return listed.spellings
        fetch = self._fetches.get(catalog_key)
        if fetch is None:
            headers = upstream_headers(engine, client_headers, runtime.upstream_key)
            replica = runtime.pool.pick()
            url = upstream_url(replica.url, engine.kind, MODELS_PATH)
            fetch = asyncio.create_task(self._refresh(catalog_key, replica, url, headers))
            self._fetches[catalog_key] = fetch
        # Shielded: a caller that goes away leaves the fetch to the others (and the cache).
        return await asyncio.shield(fetch)

    async def _refresh(
        self, catalog_key: str, replica: EngineReplica, url: str, headers: dict[str, str]
    ) -> ModelSpellings | None:
        try:
            spellings = await self._fetch(replica, url, headers)
            ttl_s = self.failure_ttl_s if spellings is None else self.ttl_s
            self._lists.put(catalog_key, _Listed(spellings), self._clock() + ttl_s)
            return spellings
        finally:
            self._fetches.pop(catalog_key, None)

    async def _fetch(
        self, replica: EngineReplica, url: str, headers: dict[str, str]
    ) -> ModelSpellings | None:
        try:
            async with (
                asyncio.timeout(self.timeout_s),
                replica.http.get(url, headers=headers, allow_redirects=False) as response,
            ):
                if response.status != 200:
                    logger.debug("upstream %s: models answered %s", replica.label, response.status)
                    return None
                body = bytearray()
                async for chunk in response.content.iter_chunked(_CHUNK_BYTES):
                    body += chunk
                    if len(body) > self.max_bytes:
                        logger.debug("upstream %s: models over %d bytes", replica.label, len(body))
                        return None
            ids = listed_model_ids(orjson.loads(body))
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            logger.debug("upstream %s: no model list (%s)", replica.label, type(exc).__name__)
            return None
        if ids is None:
            logger.debug("upstream %s: the model list is not an OpenAI-style one", replica.label)
            return None
        return ModelSpellings.of(ids)
