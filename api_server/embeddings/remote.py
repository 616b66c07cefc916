"""An OpenAI-compatible embedding server as the embedding backend (compose runs one; any
`/v1/embeddings` server works), through the gateway's pooled aiohttp session."""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp
import orjson

from api_server.embeddings.backend import EmbeddingBatch
from api_server.errors import EmbeddingsUnavailableError


class RemoteEmbedder:
    """Its errors name no URL: they reach clients, and the address is internal."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        model_name: str,
        *,
        dimensions: int = 384,
        timeout_s: float = 10.0,
    ) -> None:
        self.http = http
        self.url = base_url.rstrip("/") + "/v1/embeddings"
        self.model_name = model_name
        self.dimensions = dimensions
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def embed(self, texts: Sequence[str]) -> EmbeddingBatch:
        body = orjson.dumps({"model": self.model_name, "input": list(texts)})
        try:
            async with self.http.post(
                self.url,
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=self._timeout,
            ) as response:
                payload = orjson.loads(await response.read())
                if response.status != 200:
                    raise EmbeddingsUnavailableError(
                        f"The embedding server answered {response.status}"
                    )
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as exc:
            raise EmbeddingsUnavailableError(
                f"The embedding server is not reachable ({type(exc).__name__})"
            ) from exc
        rows = sorted(payload["data"], key=lambda row: row["index"])
        usage = payload.get("usage") or {}
        return EmbeddingBatch(
            [list(map(float, row["embedding"])) for row in rows],
            int(usage.get("prompt_tokens") or 0),
        )

    def ready(self) -> bool:
        return True  # a server: nothing to load here

    def close(self) -> None:
        return None  # the shared HTTP session is closed by the lifespan
