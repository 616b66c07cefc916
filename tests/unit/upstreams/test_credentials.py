"""Which key a hosted upstream gets, and in which header: table-driven."""

from __future__ import annotations

from typing import Literal

import pytest

from api_server.registry import EngineSpec, UpstreamAuth
from api_server.upstreams.credentials import (
    ANTHROPIC_VERSION,
    client_credential,
    client_headers_for_upstream,
    upstream_headers,
    upstream_key,
)

Style = Literal["header", "env", "both"]


def engine(
    kind: Literal["openai", "anthropic"] = "openai",
    style: Style = "header",
    headers: dict[str, str] | None = None,
) -> EngineSpec:
    return EngineSpec.model_validate(
        {
            "kind": kind,
            "served_name": "m",
            "urls": ["https://upstream.example/v1"],
            "auth": UpstreamAuth(style=style, api_key_env="KEY"),
            "headers": headers or {},
        }
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-api-key": "sk-x", "authorization": "Bearer sk-b"}, "sk-x"),  # x-api-key wins
        ({"authorization": "Bearer sk-b"}, "sk-b"),
        ({"authorization": "bearer sk-b"}, "sk-b"),  # the scheme is case-insensitive
        ({"authorization": "Bearer  sk-b "}, "sk-b"),
        ({"x-api-key": "  ", "authorization": "Bearer sk-b"}, "sk-b"),  # blank key: the next
        ({"authorization": "Basic dXNlcjpwYXNz"}, None),
        ({"authorization": "Bearer"}, None),
        ({"authorization": "Bearer "}, None),
        ({"authorization": ""}, None),
        ({}, None),
    ],
)
def test_client_credential(headers: dict[str, str], expected: str | None) -> None:
    assert client_credential(headers) == expected


@pytest.mark.parametrize(
    ("style", "client_key", "ours", "expected"),
    [
        ("header", "sk-client", "sk-ours", "sk-client"),
        ("header", "sk-client", None, "sk-client"),
        ("header", None, "sk-ours", None),  # never ours
        ("header", None, None, None),
        ("env", "sk-client", "sk-ours", "sk-ours"),  # never the client's
        ("env", "sk-client", None, None),
        ("env", None, "sk-ours", "sk-ours"),
        ("env", None, None, None),
        ("env", None, "", None),
        ("both", "sk-client", "sk-ours", "sk-client"),
        ("both", "sk-client", None, "sk-client"),
        ("both", None, "sk-ours", "sk-ours"),
        ("both", None, None, None),
    ],
)
def test_upstream_key(
    style: Style, client_key: str | None, ours: str | None, expected: str | None
) -> None:
    headers = {"authorization": f"Bearer {client_key}"} if client_key else {}
    assert upstream_key(engine(style=style), headers, ours) == expected


@pytest.mark.parametrize(
    ("kind", "client", "expected"),
    [
        (
            "openai",
            {"x-api-key": "sk-c"},  # Anthropic-style key, re-sent in OpenAI's header
            {"Authorization": "Bearer sk-c"},
        ),
        ("openai", {"authorization": "Bearer sk-c"}, {"Authorization": "Bearer sk-c"}),
        (
            "anthropic",
            {"authorization": "Bearer sk-c"},  # a Bearer token becomes x-api-key
            {"x-api-key": "sk-c", "anthropic-version": ANTHROPIC_VERSION},
        ),
        (
            "anthropic",
            {"x-api-key": "sk-c", "anthropic-version": "2099-01-01"},  # the client's own
            {"x-api-key": "sk-c", "anthropic-version": "2099-01-01"},
        ),
        (
            "anthropic",
            {"x-api-key": "sk-c", "anthropic-beta": "tools-2024"},
            {
                "x-api-key": "sk-c",
                "anthropic-version": ANTHROPIC_VERSION,
                "anthropic-beta": "tools-2024",
            },
        ),
        (
            "openai",
            {"authorization": "Bearer sk-c", "anthropic-beta": "b", "anthropic-version": "v"},
            {"Authorization": "Bearer sk-c"},  # Anthropic's headers mean nothing to OpenAI
        ),
        (
            "openai",
            {"authorization": "Bearer sk-c", "openai-organization": "org", "openai-project": "p"},
            {"Authorization": "Bearer sk-c", "openai-organization": "org", "openai-project": "p"},
        ),
        (
            "anthropic",
            {"x-api-key": "sk-c", "openai-organization": "org"},
            {"x-api-key": "sk-c", "anthropic-version": ANTHROPIC_VERSION},
        ),
        ("openai", {}, {}),  # no key: no credential header at all
        ("anthropic", {}, {"anthropic-version": ANTHROPIC_VERSION}),
    ],
)
def test_upstream_headers_per_kind(
    kind: Literal["openai", "anthropic"], client: dict[str, str], expected: dict[str, str]
) -> None:
    headers = upstream_headers(engine(kind), client, None)
    assert headers == {
        "Content-Type": "application/json",
        "Accept-Encoding": "identity",
        **expected,
    }


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_the_models_configured_headers_win(kind: Literal["openai", "anthropic"]) -> None:
    configured = {
        "Authorization": "Bearer sk-configured",
        "x-api-key": "sk-configured",
        "anthropic-version": "2000-01-01",
        "Accept-Encoding": "gzip",
        "X-Extra": "1",
    }
    client = {"authorization": "Bearer sk-c", "anthropic-version": "2099-01-01"}
    headers = upstream_headers(engine(kind, headers=configured), client, None)
    for name, value in configured.items():
        assert headers[name] == value


@pytest.mark.parametrize(
    ("kind", "style", "client", "ours", "name", "value"),
    [
        (
            "openai",
            "env",
            {"authorization": "Bearer sk-c"},
            "sk-ours",
            "Authorization",
            "Bearer sk-ours",
        ),
        ("anthropic", "env", {"x-api-key": "sk-c"}, "sk-ours", "x-api-key", "sk-ours"),
        ("anthropic", "both", {}, "sk-ours", "x-api-key", "sk-ours"),
        ("openai", "both", {"x-api-key": "sk-c"}, "sk-ours", "Authorization", "Bearer sk-c"),
    ],
)
def test_upstream_headers_carry_the_key_the_style_picks(
    kind: Literal["openai", "anthropic"],
    style: Style,
    client: dict[str, str],
    ours: str,
    name: str,
    value: str,
) -> None:
    assert upstream_headers(engine(kind, style), client, ours)[name] == value


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            {
                "authorization": "Bearer sk",
                "x-api-key": "k",
                "openai-organization": "o",
                "openai-project": "p",
                "anthropic-version": "v",
                "anthropic-beta": "b",
            },
            None,  # all kept
        ),
        (
            {
                "authorization": "Bearer sk",
                "content-type": "application/json",
                "cookie": "session=1",
                "user-agent": "sdk",
                "x-forwarded-for": "10.0.0.1",
                "accept-encoding": "gzip",
            },
            {"authorization": "Bearer sk"},
        ),
        ({"authorization": "", "x-api-key": "k"}, {"x-api-key": "k"}),  # empty values dropped
        ({}, {}),
    ],
)
def test_client_headers_for_upstream_keeps_only_relevant_ones(
    headers: dict[str, str], expected: dict[str, str] | None
) -> None:
    assert client_headers_for_upstream(headers) == (headers if expected is None else expected)


@pytest.mark.parametrize(
    ("kind", "client"),
    [
        ("anthropic", {"x-api-key": "sk-c", "anthropic-beta": "context-1m"}),
        ("openai", {"authorization": "Bearer sk-c", "openai-organization": "their-org"}),
        ("openai", {"authorization": "Bearer sk-c", "openai-project": "their-project"}),
    ],
)
def test_billing_headers_go_up_only_with_the_clients_own_key(
    kind: Literal["openai", "anthropic"], client: dict[str, str]
) -> None:
    """Organization, project and beta features are paid by the key's owner."""
    sent = upstream_headers(engine(kind, style="env"), client, "sk-ours")
    assert not {"anthropic-beta", "openai-organization", "openai-project"} & set(sent)
    assert "sk-c" not in str(sent) and "sk-ours" in str(sent)
    forwarded = upstream_headers(engine(kind, style="header"), client, "sk-ours")
    assert set(client) - {"x-api-key", "authorization"} <= set(forwarded)


def test_styles_other_than_header_name_the_key_variable() -> None:
    with pytest.raises(ValueError, match="needs api_key_env"):
        UpstreamAuth(style="env")
    assert UpstreamAuth().style == "header"
