"""The exact-cache key: a hash of everything that can change a generation's output."""

from __future__ import annotations

import hashlib

import orjson

from api_server.chat.conversation import Conversation
from api_server.chat.sampling import SamplingParams

KEY_PREFIX = "inferstack:cache:v1:"


def exact_cache_key(
    model: str,
    conversation: Conversation,
    sampling: SamplingParams,
    tenant: str | None = None,
) -> str:
    """`model` is the public (resolved) name; the conversation holds the messages, tools and
    tool_choice, the sampling the rest. The engine request is built from nothing else, so two
    requests with one key ask the engine for the same thing. A tenant gets its own keyspace."""
    canonical = orjson.dumps(
        {"model": model, "conversation": conversation, "sampling": sampling},
        option=orjson.OPT_SORT_KEYS,
    )
    digest = hashlib.sha256(canonical).hexdigest()
    return f"{KEY_PREFIX}{tenant}:{digest}" if tenant else f"{KEY_PREFIX}{digest}"
