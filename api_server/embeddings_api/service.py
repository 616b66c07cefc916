"""Embeddings: validate, embed off the event loop, render OpenAI's response."""

from __future__ import annotations

import base64
import struct
from typing import Any

from api_server.embeddings.backend import Embedder
from api_server.embeddings_api.protocol import EmbeddingRequestIn
from api_server.errors import EmbeddingsUnavailableError, InvalidRequestError
from api_server.validation import parse_body

MAX_INPUTS = 2048  # OpenAI's limit per request


async def create_embeddings(embedder: Embedder | None, body: bytes) -> dict[str, Any]:
    request = parse_body(EmbeddingRequestIn, body)
    if embedder is None:
        raise EmbeddingsUnavailableError("No embedding model is configured (embeddings_model)")
    texts = _texts(request)
    if request.dimensions is not None and request.dimensions != embedder.dimensions:
        raise InvalidRequestError(
            f"{embedder.model_name} makes {embedder.dimensions}-dimensional embeddings",
            param="dimensions",
        )
    batch = await embedder.embed(texts)
    data = [
        {"object": "embedding", "index": i, "embedding": _encoded(vector, request.encoding_format)}
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
