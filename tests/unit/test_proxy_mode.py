"""Proxy mode's registry: one catch-all entry takes any model name to the one upstream
(`inferstack run`'s settings are in test_run_settings.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.errors import ModelNotFoundError
from api_server.proxy_mode import UpstreamSettings, upstream_registry
from api_server.registry import (
    CATCH_ALL_MODEL,
    EngineSpec,
    MaxTokensSpec,
    ModelRegistry,
    ModelSpec,
    RetrySpec,
    UpstreamAuth,
)

UPSTREAM = UpstreamSettings.model_validate(
    {
        "base_url": "https://api.example.com/v1",
        "type": "openai",
        "auth": {"style": "env", "api_key_env": "EXAMPLE_KEY"},
        "retry": {"max_attempts": 5},
        "timeout_s": 30,
        "default_max_tokens": 512,
        "headers": {"X-Team": "a"},
    }
)


@pytest.mark.parametrize(
    "name", ["gpt-4o", "GPT-4o-Mini", "claude-sonnet-4-5", "org/model:tag", "*x*"]
)
def test_any_model_name_resolves_to_a_spec_of_that_name(name: str) -> None:
    registry = upstream_registry(UPSTREAM)
    spec = registry.resolve(name)
    assert spec.name == name  # case kept: the upstream gets the client's own name
    assert spec.engine.served_name == name
    assert spec.engine.kind == "openai"
    assert [str(url) for url in spec.engine.urls] == ["https://api.example.com/v1"]
    assert spec.engine.auth == UpstreamAuth(style="env", api_key_env="EXAMPLE_KEY")
    assert spec.engine.retry == RetrySpec(max_attempts=5)
    assert spec.engine.headers == {"X-Team": "a"}
    assert (spec.timeout_s, spec.max_tokens.default, spec.owned_by) == (30, 512, "openai")
    assert registry.resolve(name) is spec  # built once per name


def test_names_differing_in_case_are_different_specs() -> None:
    registry = upstream_registry(UPSTREAM)
    assert registry.resolve("Model").name == "Model"
    assert registry.resolve("model").name == "model"


def test_the_proxy_registry() -> None:
    registry = upstream_registry(UPSTREAM)
    assert [spec.name for spec in registry.models] == [CATCH_ALL_MODEL]
    assert registry.catch_all is registry.models[0]
    assert registry.default_model == CATCH_ALL_MODEL
    assert registry.upstream_kinds == frozenset({"openai"})


@pytest.mark.parametrize(
    ("base_url", "kind", "engine_url"),
    [
        ("https://api.openai.com", "openai", "https://api.openai.com/v1"),  # its README's
        ("https://api.openai.com/v1", "openai", "https://api.openai.com/v1"),
        ("https://api.anthropic.com", "anthropic", "https://api.anthropic.com/"),
        ("https://api.anthropic.com/v1", "anthropic", "https://api.anthropic.com/"),
    ],
)
def test_the_upstream_base_url_is_taken_with_or_without_its_version(
    base_url: str, kind: str, engine_url: str
) -> None:
    upstream = UpstreamSettings.model_validate({"base_url": base_url, "type": kind})
    [url] = upstream_registry(upstream).models[0].engine.urls
    assert str(url) == engine_url


def test_an_empty_model_name_is_not_caught() -> None:
    with pytest.raises(ModelNotFoundError):
        upstream_registry(UPSTREAM).resolve("")


def named(name: str, aliases: tuple[str, ...] = ()) -> ModelSpec:
    return ModelSpec(
        name=name,
        aliases=aliases,
        engine=EngineSpec.model_validate(
            {"kind": "anthropic", "served_name": "claude-real", "urls": ["https://a.example"]}
        ),
        context_length=8192,
        max_tokens=MaxTokensSpec(default=64, limit=256),
    )


@pytest.mark.parametrize(
    ("asked", "resolved", "served"),
    [
        ("claude", "claude", "claude-real"),
        ("CLAUDE", "claude", "claude-real"),  # named entries still forgive case
        ("sonnet", "claude", "claude-real"),  # and take aliases
        ("gpt-4o", "gpt-4o", "gpt-4o"),  # anything else: the catch-all
    ],
)
def test_named_models_are_resolved_before_the_catch_all(
    asked: str, resolved: str, served: str
) -> None:
    catch_all = upstream_registry(UPSTREAM).models[0]
    for order in [
        (named("claude", ("sonnet",)), catch_all),
        (catch_all, named("claude", ("sonnet",))),
    ]:
        spec = ModelRegistry(order).resolve(asked)
        assert (spec.name, spec.engine.served_name) == (resolved, served)


@pytest.mark.parametrize(
    ("name", "explicit"),
    [
        ("claude", True),
        ("CLAUDE", True),
        ("sonnet", True),  # an alias is the entry's own too
        ("gpt-4o", False),  # only the catch-all takes it
        (CATCH_ALL_MODEL, False),
    ],
)
def test_a_name_the_catch_all_takes_is_not_explicit(name: str, explicit: bool) -> None:
    catch_all = upstream_registry(UPSTREAM).models[0]
    registry = ModelRegistry((catch_all, named("claude", ("sonnet",))), default_model="claude")
    assert registry.is_explicit(name) is explicit
    assert registry.named_default == "claude"


def test_the_proxy_registry_has_no_default_of_its_own() -> None:
    registry = upstream_registry(UPSTREAM)
    assert (registry.default_model, registry.named_default) == (CATCH_ALL_MODEL, None)
    assert not registry.is_explicit("gpt-4o")


def test_the_models_listing_leaves_out_the_catch_all() -> None:
    """Beside named models the list is theirs (proxy mode alone asks its upstream: see
    tests/unit/upstreams/test_through_gateway.py)."""
    catch_all = upstream_registry(UPSTREAM).models[0]
    settings = Settings(redis_url=None, database_url=None, cache_enabled=False)
    registry = ModelRegistry((catch_all, named("claude")))
    with TestClient(create_app(settings, registry)) as client:
        response = client.get("/v1/models")
    assert response.status_code == 200
    assert [model["id"] for model in response.json()["data"]] == ["claude"]


def test_catch_all_accounting_is_bounded() -> None:
    registry = upstream_registry(
        UpstreamSettings(base_url="http://u.example/v1", type="openai")  # type: ignore[arg-type]
    )
    names = [f"model-{i}" for i in range(300)]
    accounted = [registry.accounting_name(registry.resolve(name)) for name in names]
    assert accounted[:256] == names[:256]  # the first ones: metrics per model
    assert set(accounted[256:]) == {"*"}  # later ones cannot grow the metric series
    assert registry.resolve("model-299").name == "model-299"  # still served under its name


def test_the_catch_all_name_itself_is_no_model() -> None:
    registry = upstream_registry(
        UpstreamSettings(base_url="http://u.example/v1", type="openai")  # type: ignore[arg-type]
    )
    with pytest.raises(ModelNotFoundError, match="Name a model"):
        registry.resolve("*")


def test_a_disabled_model_is_not_caught(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n"
        "  - name: '*'\n"
        "    engine: {kind: openai, served_name: x, urls: ['http://u.example/v1']}\n"
        "    context_length: 1000\n"
        "    max_tokens: {default: 10, limit: 10}\n"
        "  - name: old-model\n"
        "    enabled: false\n"
        "    engine: {kind: openai, served_name: old, urls: ['http://u.example/v1']}\n"
        "    context_length: 1000\n"
        "    max_tokens: {default: 10, limit: 10}\n"
    )
    registry = ModelRegistry.from_file(path)
    with pytest.raises(ModelNotFoundError, match="not enabled"):
        registry.resolve("OLD-model")
    assert registry.resolve("new-model").engine.served_name == "new-model"
