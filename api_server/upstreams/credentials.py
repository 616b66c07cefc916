"""Which key a hosted upstream gets, and in which header (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from api_server.registry import EngineSpec

ANTHROPIC_VERSION = "2023-06-01"
# Request headers a client may send that an upstream of the same family understands.
_FORWARDED = {
    "openai": ("openai-organization", "openai-project"),
    "anthropic": ("anthropic-version", "anthropic-beta"),
}
# What the gateway keeps of a client's headers for its upstream: credentials and the above.
UPSTREAM_RELEVANT_HEADERS = (
    "authorization",
    "x-api-key",
    *_FORWARDED["openai"],
    *_FORWARDED["anthropic"],
)


def client_credential(client_headers: Mapping[str, str]) -> str | None:
    """The key the client sent: `x-api-key`, else a Bearer token."""
    key = client_headers.get("x-api-key", "").strip()
    if key:
        return key
    scheme, _, token = client_headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def upstream_key(
    engine: EngineSpec, client_headers: Mapping[str, str], ours: str | None
) -> str | None:
    """`ours`: the key from the model's `api_key_env`, read at startup."""
    style = engine.auth.style
    if style == "env":
        return ours or None
    theirs = client_credential(client_headers)
    return theirs if style == "header" else theirs or ours or None


def upstream_headers(
    engine: EngineSpec, client_headers: Mapping[str, str], our_key: str | None
) -> dict[str, str]:
    """Headers for one request to `engine`'s upstream: its credential in the upstream's own
    style (a client's Bearer token becomes `x-api-key` for Anthropic and back), the
    client's protocol headers for that family, then the model's configured headers."""
    headers = {
        "Content-Type": "application/json",
        # Identity: the stream is parsed (usage) or translated, never gzip.
        "Accept-Encoding": "identity",
    }
    key = upstream_key(engine, client_headers, our_key)
    if engine.kind == "anthropic":
        headers["anthropic-version"] = ANTHROPIC_VERSION
        if key:
            headers["x-api-key"] = key
    elif key:
        headers["Authorization"] = f"Bearer {key}"
    # Organization, project and beta features bill the key's owner: the client chooses
    # them only on its own key (the API version is protocol, always the client's).
    own_key = key is not None and key == client_credential(client_headers)
    for name in _FORWARDED.get(engine.kind, ()):
        if (value := client_headers.get(name)) and (own_key or name == "anthropic-version"):
            headers[name] = value
    headers.update(engine.headers)
    return headers


def client_headers_for_upstream(headers: Mapping[str, str]) -> dict[str, str]:
    """The request headers a hosted upstream may need, kept from the client's request."""
    return {name: value for name in UPSTREAM_RELEVANT_HEADERS if (value := headers.get(name))}
