"""Embeddings as a tracked front-door request: the caller's model allowlist and rate limits,
a request-log row with the tokens (charged to its tpm), then the vectors in OpenAI's shape,
embedded off the event loop."""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from typing import Any

from api_server.chat.events import Usage
from api_server.embeddings.backend import Embedder
from api_server.embeddings_api.protocol import EmbeddingRequestIn
from api_server.errors import (
    EmbeddingsUnavailableError,
    InvalidRequestError,
    ModelNotFoundError,
    PermissionDeniedError,
)
from api_server.frontdoor.service import FrontDoorResult, FrontDoorService, log_unknown_fields
from api_server.ratelimit import admit_request
from api_server.tracking import RequestTracker
from api_server.validation import parse_body

ENDPOINT = "/v1/embeddings"
MAX_INPUTS = 2048  # OpenAI's limit per request


@dataclass(frozen=True, slots=True)
class EmbeddingModel:
    """The embedding model as the rate limiter sees it: it has no registry entry, and its
    queue is bounded by the embedder itself (`embeddings_max_pending`)."""

    name: str
    max_concurrency: int | None = None


class EmbeddingsService(FrontDoorService):
    async def create(self, body: bytes) -> FrontDoorResult:
        return await self._tracked(ENDPOINT, self._create, body)

    async def _create(self, body: bytes, tracker: RequestTracker) -> dict[str, Any]:
        request = parse_body(EmbeddingRequestIn, body)
        log_unknown_fields(request.unknown_fields(), ENDPOINT)
        embedder = self.state.embedder
        if embedder is None:
            raise EmbeddingsUnavailableError("No embedding model is configured (embeddings_model)")
        name = embedder.model_name
        if not names_model(request.model, name):
            raise ModelNotFoundError(
                f"The model {request.model!r} does not exist; embeddings are made by {name!r}"
            )
        if not self.principal.may_use_named(name):
            raise PermissionDeniedError(f"This key may not use the model {name!r}")
        texts = _texts(request)
        if request.dimensions is not None and request.dimensions != embedder.dimensions:
            raise InvalidRequestError(
                f"{name} makes {embedder.dimensions}-dimensional embeddings", param="dimensions"
            )
        self.limit_headers = await admit_request(
            self.state.rate_limiter, self.principal, EmbeddingModel(name), tracker, name
        )
        tracker.model_named(name, name, end_user=request.user)
        return await _embedded(embedder, texts, request.encoding_format, tracker)


def names_model(requested: str, model_name: str) -> bool:
    """Whether a request's `model` is the embedding model: in any letter case, with or
    without the `sentence-transformers/` organisation."""

    def bare(name: str) -> str:
        return name.casefold().removeprefix("sentence-transformers/")

    return bare(requested) == bare(model_name)


async def _embedded(
    embedder: Embedder, texts: list[str], encoding_format: str, tracker: RequestTracker
) -> dict[str, Any]:
    batch = await embedder.embed(texts)
    tracker.completed(Usage(prompt_tokens=batch.prompt_tokens, completion_tokens=0))
    data = [
        {"object": "embedding", "index": i, "embedding": _encoded(vector, encoding_format)}
        for i, vector in enumerate(batch.vectors)
    ]
    return {
        "object": "list",
        "data": data,
        "model": embedder.model_name,
        "usage": {"prompt_tokens": batch.prompt_tokens, "total_tokens": batch.prompt_tokens},
    }


def _texts(request: EmbeddingRequestIn) -> list[str]:
    value = request.input
    texts = [value] if isinstance(value, str) else value
    if not texts or not all(isinstance(text, str) for text in texts):
        raise InvalidRequestError(
            "input must be a string or a non-empty list of strings (token arrays are not "
            "supported)",
            param="input",
        )
    if len(texts) > MAX_INPUTS:
        raise InvalidRequestError(f"at most {MAX_INPUTS} inputs per request", param="input")
    return [str(text) for text in texts]


def _encoded(vector: list[float], encoding_format: str) -> list[float] | str:
    if encoding_format == "float":
        return vector
    # OpenAI's base64: little-endian float32, what the openai SDK decodes with numpy.
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
