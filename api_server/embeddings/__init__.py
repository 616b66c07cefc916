"""Text embeddings: `POST /v1/embeddings` and the vectors behind the semantic cache."""
