"""Proxy mode: the catch-all registry entry, and `inferstack run`'s settings (flags > the
--config file > defaults)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.cli import _run_settings, main
from api_server.config import Settings
from api_server.errors import ModelNotFoundError
from api_server.interceptors.config import EventRecorderSpec, MessageLoggerSpec, PrinterSpec
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


# -- inferstack run ------------------------------------------------------------------------


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No INFERSTACK_* variables and no .env; _run_settings's own write to
    INFERSTACK_CONFIG_FILE is undone after the test."""
    for key in list(os.environ):
        if key.startswith("INFERSTACK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("INFERSTACK_CONFIG_FILE", "restored-after-the-test")
    monkeypatch.chdir(tmp_path)
    yield tmp_path


CONFIG = """\
port: 9100
host: 127.0.0.1
upstream:
  base_url: https://api.anthropic.com
  type: anthropic
  auth: {style: both, api_key_env: ANTHROPIC_API_KEY}
  retry: {max_attempts: 4, base_delay_s: 0.25}
  timeout_s: 120
  default_max_tokens: 1000
interceptors:
  - {type: message_logger, path: logs/messages.jsonl}
"""


@pytest.fixture
def config_file(clean_env: Path) -> str:
    path = clean_env / "proxy.yaml"
    path.write_text(CONFIG)
    return str(path)


def test_flags_alone(clean_env: Path) -> None:
    settings = _run_settings(["--base-url", "http://127.0.0.1:9200/v1", "--type", "openai"])
    assert settings.upstream == UpstreamSettings.model_validate(
        {"base_url": "http://127.0.0.1:9200/v1", "type": "openai"}
    )
    assert (settings.host, settings.port, settings.interceptors) == ("127.0.0.1", 8000, [])
    assert settings.upstream.auth.style == "header"  # the client's own key by default
    assert os.environ["INFERSTACK_CONFIG_FILE"] == os.devnull  # no configs/gateway.yaml


def test_every_flag(clean_env: Path) -> None:
    settings = _run_settings(
        [
            "--base-url", "https://api.anthropic.com",
            "--type", "anthropic",
            "--host", "127.0.0.1",
            "--port", "9000",
            "--auth", "env",
            "--api-key-env", "MY_KEY",
            "--timeout", "12.5",
            "--retries", "1",
        ]
    )  # fmt: skip
    upstream = settings.upstream
    assert upstream is not None
    assert (str(upstream.base_url), upstream.type) == ("https://api.anthropic.com/", "anthropic")
    assert upstream.auth == UpstreamAuth(style="env", api_key_env="MY_KEY")
    assert (upstream.timeout_s, upstream.retry.max_attempts) == (12.5, 1)
    assert (settings.host, settings.port) == ("127.0.0.1", 9000)


def test_the_config_file_alone(config_file: str) -> None:
    settings = _run_settings(["--config", config_file])
    upstream = settings.upstream
    assert upstream is not None
    assert (str(upstream.base_url), upstream.type) == ("https://api.anthropic.com/", "anthropic")
    assert upstream.auth == UpstreamAuth(style="both", api_key_env="ANTHROPIC_API_KEY")
    assert upstream.retry == RetrySpec(max_attempts=4, base_delay_s=0.25)
    assert (upstream.timeout_s, upstream.default_max_tokens) == (120, 1000)
    assert (settings.host, settings.port) == ("127.0.0.1", 9100)
    assert settings.interceptors == [MessageLoggerSpec(path=Path("logs/messages.jsonl"))]
    assert os.environ["INFERSTACK_CONFIG_FILE"] == os.devnull  # read once, as init values


@pytest.mark.parametrize(
    ("flags", "changed"),
    [
        (["--base-url", "https://proxy.example"], {"base_url": "https://proxy.example/"}),
        (["--type", "openai"], {"type": "openai"}),
        (["--timeout", "5"], {"timeout_s": 5.0}),
        (["--auth", "env"], {"auth": {"style": "env", "api_key_env": "ANTHROPIC_API_KEY"}}),
        (["--api-key-env", "OTHER"], {"auth": {"style": "both", "api_key_env": "OTHER"}}),
        (
            ["--retries", "2"],
            {"retry": RetrySpec(max_attempts=2, base_delay_s=0.25).model_dump()},
        ),
    ],
)
def test_a_flag_overrides_only_its_own_field_of_the_files_upstream(
    config_file: str, flags: list[str], changed: dict[str, object]
) -> None:
    from_file = _run_settings(["--config", config_file]).upstream
    settings = _run_settings(["--config", config_file, *flags])
    assert from_file is not None and settings.upstream is not None
    assert settings.upstream.model_dump(mode="json") == {
        **from_file.model_dump(mode="json"),
        **changed,
    }
    assert settings.port == 9100  # the file's other settings stay


@pytest.mark.parametrize(
    ("flags", "port", "host"),
    [
        ([], 9100, "127.0.0.1"),
        (["--port", "9300"], 9300, "127.0.0.1"),
        (["--host", "::1", "--port", "1"], 1, "::1"),
    ],
)
def test_flags_beat_the_file_for_gateway_settings(
    config_file: str, flags: list[str], port: int, host: str
) -> None:
    settings = _run_settings(["--config", config_file, *flags])
    assert (settings.port, settings.host) == (port, host)


def test_flags_beat_the_file_which_beats_the_environment(
    config_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERSTACK_PORT", "9200")
    monkeypatch.setenv("INFERSTACK_LOG_LEVEL", "debug")
    settings = _run_settings(["--config", config_file])
    assert settings.port == 9100  # the file's, as `inferstack run --help` says
    assert settings.log_level == "debug"  # the environment fills what the file leaves out
    assert _run_settings(["--config", config_file, "--port", "9300"]).port == 9300


def test_a_missing_or_broken_config_file_is_a_usage_error(
    clean_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("upstream: [unclosed\n")
    for path in (str(tmp_path / "nope.yaml"), str(broken)):
        with pytest.raises(SystemExit) as exited:
            _run_settings(
                ["--config", path, "--base-url", "http://u.example/v1", "--type", "openai"]
            )
        assert exited.value.code == 2
        assert path in capsys.readouterr().err


OUR_KEY = ["--base-url", "https://api.openai.com/v1", "--type", "openai", "--api-key-env", "K"]


@pytest.mark.parametrize("style", ["env", "both"])
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.2", "gateway.example"])
def test_a_relay_spending_our_key_on_the_network_needs_gateway_auth(
    clean_env: Path, capsys: pytest.CaptureFixture[str], style: str, host: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        _run_settings([*OUR_KEY, "--auth", style, "--host", host])
    assert exited.value.code == 2
    assert "spend our upstream key" in capsys.readouterr().err


@pytest.mark.parametrize("host", [None, "127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_a_relay_spending_our_key_may_listen_on_loopback(clean_env: Path, host: str | None) -> None:
    settings = _run_settings([*OUR_KEY, "--auth", "env", *(["--host", host] if host else [])])
    assert settings.host == (host or "127.0.0.1")


def test_a_relay_spending_our_key_on_the_network_with_gateway_auth_is_allowed(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERSTACK_AUTH_MODE", "jwt")
    monkeypatch.setenv("INFERSTACK_JWT_SECRET", "a-real-secret-of-32-characters!!")
    monkeypatch.setenv("INFERSTACK_JWT_AUDIENCE", "inferstack")
    monkeypatch.setenv("INFERSTACK_JWT_ISSUER", "https://idp.example")
    settings = _run_settings([*OUR_KEY, "--auth", "env", "--host", "0.0.0.0"])
    assert (settings.host, settings.auth_mode) == ("0.0.0.0", "jwt")


def test_a_relay_of_the_clients_own_keys_may_listen_anywhere(clean_env: Path) -> None:
    settings = _run_settings([*OUR_KEY, "--auth", "header", "--host", "0.0.0.0"])
    assert settings.host == "0.0.0.0"


def test_the_proxy_takes_large_bodies_unless_told_otherwise(clean_env: Path) -> None:
    flags = ["--base-url", "http://u.example/v1", "--type", "openai"]
    assert _run_settings(flags).max_body_bytes == 32 * 1024 * 1024


def test_the_proxy_has_no_whole_request_timeout_unless_told(
    clean_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = ["--base-url", "http://u.example/v1", "--type", "openai"]
    assert _run_settings(flags).request_timeout_s is None
    path = tmp_path / "proxy.yaml"
    path.write_text(
        "upstream: {base_url: 'http://u.example/v1', type: openai}\nrequest_timeout_s: 90\n"
    )
    assert _run_settings(["--config", str(path)]).request_timeout_s == 90
    monkeypatch.setenv("INFERSTACK_REQUEST_TIMEOUT_S", "45")
    assert _run_settings(flags).request_timeout_s == 45


def test_the_config_file_maps_claude_names_in_its_order(clean_env: Path) -> None:
    path = clean_env / "proxy.yaml"
    path.write_text(
        "upstream: {base_url: 'http://u.example/v1', type: openai}\n"
        "anthropic_model_map: {'claude-*haiku*': gpt-4o-mini, 'claude-*': gpt-4o}\n"
    )
    settings = _run_settings(["--config", str(path)])
    assert list(settings.anthropic_model_map.items()) == [
        ("claude-*haiku*", "gpt-4o-mini"),
        ("claude-*", "gpt-4o"),
    ]


def test_one_printer_even_when_the_file_has_one(clean_env: Path, tmp_path: Path) -> None:
    path = tmp_path / "proxy.yaml"
    path.write_text(
        "upstream: {base_url: 'http://u.example/v1', type: openai}\n"
        "interceptors: [{type: printer}]\n"
    )
    settings = _run_settings(["--config", str(path), "--printer", "--record", "r.jsonl"])
    assert [spec.type for spec in settings.interceptors] == ["printer", "event_recorder"]


def test_interceptor_flags_are_added_to_the_files(config_file: str) -> None:
    settings = _run_settings(
        ["--config", config_file, "--printer", "--record", "rec.jsonl", "--log-messages", "m.jsonl"]
    )
    assert settings.interceptors == [
        MessageLoggerSpec(path=Path("logs/messages.jsonl")),
        PrinterSpec(),
        EventRecorderSpec(path=Path("rec.jsonl")),
        MessageLoggerSpec(path=Path("m.jsonl")),
    ]


def test_interceptor_flags_without_a_file(clean_env: Path) -> None:
    settings = _run_settings(["--base-url", "http://u.example/v1", "--type", "openai", "--printer"])
    assert settings.interceptors == [PrinterSpec()]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--port", "9000", "--printer"],
    ],
)
def test_no_upstream_is_a_usage_error(
    clean_env: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        _run_settings(argv)
    assert exited.value.code == 2
    assert "--base-url and --type" in capsys.readouterr().err


def test_a_config_file_without_an_upstream_block_is_a_usage_error(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = clean_env / "gateway.yaml"
    path.write_text("port: 9100\n")
    with pytest.raises(SystemExit) as exited:
        _run_settings(["--config", str(path)])
    assert exited.value.code == 2
    assert "upstream:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--base-url", "http://u.example/v1"],
        ["--type", "openai"],
        ["--auth", "env", "--api-key-env", "K"],
    ],
)
def test_half_an_upstream_from_the_flags_is_a_usage_error(
    clean_env: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        _run_settings(argv)
    assert exited.value.code == 2
    assert "give --base-url and --type" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--base-url", "http://u.example/v1", "--type", "gemini"],
        ["--base-url", "http://u.example/v1", "--type", "openai", "--auth", "magic"],
        ["--base-url", "http://u.example/v1", "--type", "openai", "--port", "eighty"],
    ],
)
def test_bad_flag_values_are_usage_errors(clean_env: Path, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        _run_settings(argv)
    assert exited.value.code == 2


def test_run_help(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: inferstack run")
    for flag in ["--base-url", "--type", "--config", "--auth", "--api-key-env", "--record"]:
        assert flag in out
    assert "upstream:" in out  # the config file's block is documented


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
