"""`POST /v1/embeddings` wire types (OpenAI's shape)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api_server.validation import LenientModel


class EmbeddingRequestIn(LenientModel):
    # Token arrays are OpenAI's too; refused (400) since the gateway has no shared tokenizer.
    input: str | list[str] | list[int] | list[list[int]]
    model: str
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None
