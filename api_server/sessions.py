"""Session ids: which requests belong to one conversation, for the request log.

A client may name its session (`X-Session-ID`). Otherwise the id is a hash of what every
turn of a chat resends unchanged: the model, Anthropic's top-level `system`, and the
messages up to and including the first user message. Works for OpenAI chat, Anthropic
messages and AI SDK UI messages alike.

A session is one tenant's: rows carry the caller's tenant and the logs API reads a session
only within the caller's rows, so naming another tenant's session id neither joins nor
reveals it (and derived ids hash the tenant in).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

SESSION_HEADER = "X-Session-ID"
MAX_SESSION_ID_CHARS = 128

# Keys that differ between turns of one conversation without changing what was said:
# Anthropic clients move `cache_control` breakpoints to the newest message each turn; AI SDK
# UI messages carry ids, timestamps, part states and provider metadata that may be
# regenerated.
_VOLATILE_KEYS = frozenset(
    {
        "cache_control",
        "id",
        "createdAt",
        "state",
        "metadata",
        "providerMetadata",
        "callProviderMetadata",
        "providerOptions",
    }
)


def session_id_for(
    header: str | None, body: bytes, tenant: str | None = None, *, derive: bool = True
) -> str | None:
    """The request's session id: a valid `X-Session-ID` header, else `s-` and a hash of the
    conversation's opening and the caller (`tenant`: two callers' conversations that open
    alike stay apart); None for a request without chat messages, or when not to `derive`
    one (privacy_mode: a hash of the prompt would let a guess of it be confirmed). Never
    raises."""
    if header is not None and (named := valid_session_header(header)) is not None:
        return named
    if not derive:
        return None
    try:
        opening = conversation_opening(orjson.loads(body))
        if opening is None:
            return None
        canonical = orjson.dumps([tenant, opening], option=orjson.OPT_SORT_KEYS)
    except (ValueError, TypeError, RecursionError):  # orjson's errors subclass these
        return None
    return "s-" + hashlib.sha256(canonical).hexdigest()[:24]


def valid_session_header(value: str) -> str | None:
    """The header trimmed, if it is 1 to 128 printable ASCII characters; else None (an
    unusable id is ignored, not an error)."""
    value = value.strip()
    if not 0 < len(value) <= MAX_SESSION_ID_CHARS:
        return None
    if not all(" " <= char <= "~" for char in value):
        return None
    return value


def conversation_opening(payload: Any) -> dict[str, Any] | None:
    """What every turn of the conversation repeats, stripped of per-turn noise; None when
    the payload has no messages with a user message among them."""
    if not isinstance(payload, dict):
        return None
    messages = payload.get("messages")
    if not isinstance(messages, list):
        return None
    opening: list[Any] = []
    for message in messages:
        if not isinstance(message, dict):
            return None
        opening.append(_canonical(message))
        if message.get("role") == "user":
            return {
                "model": payload.get("model"),
                "system": _canonical(_as_blocks(payload.get("system"))),
                "messages": opening,
            }
    return None


def _canonical(value: Any) -> Any:
    """`value` without volatile keys, string content as one text block (a client may send
    `"hi"` in turn 1 and `[{"type": "text", "text": "hi", ...}]` later)."""
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if not isinstance(value, dict):
        return value
    canonical = {key: _canonical(item) for key, item in value.items() if key not in _VOLATILE_KEYS}
    if "content" in canonical:
        canonical["content"] = _as_blocks(canonical["content"])
    return canonical


def _as_blocks(content: Any) -> Any:
    return [{"type": "text", "text": content}] if isinstance(content, str) else content
