"""The OpenAI /v1/embeddings endpoint over the embeddings backend."""
