from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from api_server.config import Settings


def test_yaml_then_env_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("port: 9001\nmax_body_bytes: 1234\n")
    monkeypatch.setenv("INFERSTACK_CONFIG_FILE", str(config))
    monkeypatch.chdir(tmp_path)  # no .env here
    settings = Settings()
    assert (settings.port, settings.max_body_bytes) == (9001, 1234)
    monkeypatch.setenv("INFERSTACK_PORT", "9002")
    assert Settings().port == 9002
    assert Settings(port=9003).port == 9003


def test_dotenv_beats_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text("port: 9001\n")
    (tmp_path / ".env").write_text("INFERSTACK_PORT=9005\n")
    monkeypatch.setenv("INFERSTACK_CONFIG_FILE", str(config))
    monkeypatch.chdir(tmp_path)
    assert Settings().port == 9005


@pytest.mark.parametrize(
    ("key", "value"),
    [("port", "0"), ("max_body_bytes", "-1"), ("default_temperature", "3"), ("log_level", "loud")],
)
def test_bad_values_fail_fast(monkeypatch: pytest.MonkeyPatch, key: str, value: str) -> None:
    monkeypatch.setenv(f"INFERSTACK_{key.upper()}", value)
    with pytest.raises(ValidationError):
        Settings()


def test_the_gateway_listens_on_loopback_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERSTACK_CONFIG_FILE", "configs/gateway.yaml")
    monkeypatch.delenv("INFERSTACK_HOST", raising=False)
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # the shipped gateway.yaml
    assert Settings(_env_file=None).host == "127.0.0.1"  # type: ignore[call-arg]
    monkeypatch.setenv("INFERSTACK_CONFIG_FILE", str(tmp_path / "none.yaml"))
    assert Settings(_env_file=None).host == "127.0.0.1"  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("database_url", "postgresql://inferstack:change-me-postgres@postgres:5432/inferstack"),
        ("database_url", "postgresql://u:CHANGEME@db/x"),
        ("redis_url", "redis://:change-me-redis@redis:6379/0"),
        ("redis_url", "redis://:password@redis:6379/0"),
        ("s3_secret_key", "change-me-minio"),
        ("admin_key", "change-me-admin-key-0123456789"),
    ],
)
def test_placeholder_passwords_are_refused_at_start(key: str, value: str) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(**{key: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("database_url", "postgresql://inferstack:Xk2-9fQe_real@postgres:5432/inferstack"),
        ("database_url", "postgresql://u@db/x"),  # no password (peer or trust auth)
        ("redis_url", "redis://redis:6379/0"),
        ("redis_url", "redis://:s%40cret@redis:6379/0"),
        ("s3_secret_key", "9f8e7d6c5b4a"),
    ],
)
def test_real_passwords_are_taken(key: str, value: str) -> None:
    Settings(**{key: value})  # type: ignore[arg-type]


def test_the_local_yaml_sits_between_the_yaml_and_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_config(tmp_path, monkeypatch, "port: 9001\nmax_body_bytes: 1234\nlog_level: debug\n")
    monkeypatch.delenv("INFERSTACK_PORT", raising=False)
    monkeypatch.delenv("INFERSTACK_LOG_LEVEL", raising=False)
    assert Settings().port == 9001  # no gateway.local.yaml: the yaml alone
    (tmp_path / "gateway.local.yaml").write_text("port: 9010\nlog_level: error\n")
    settings = Settings()
    assert (settings.port, settings.max_body_bytes, settings.log_level) == (9010, 1234, "error")
    (tmp_path / ".env").write_text("INFERSTACK_PORT=9020\n")
    assert Settings().port == 9020
    monkeypatch.setenv("INFERSTACK_PORT", "9030")
    assert Settings().port == 9030
    assert Settings(port=9040).port == 9040
    assert Settings().log_level == "error"  # the local file's value where nothing above sets one


def test_the_local_yaml_merges_into_nested_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_config(tmp_path, monkeypatch, OPENAI_UPSTREAM_YAML)
    (tmp_path / "gateway.local.yaml").write_text("upstream:\n  timeout_s: 5\n")
    upstream = Settings().upstream
    assert upstream is not None
    assert (str(upstream.base_url), upstream.type, upstream.timeout_s) == (
        "https://api.openai.com/v1",
        "openai",
        5.0,
    )


def test_nested_env_vars_join_names_with_double_underscores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_config(tmp_path, monkeypatch, OPENAI_UPSTREAM_YAML)
    monkeypatch.setenv("INFERSTACK_UPSTREAM__BASE_URL", "http://127.0.0.1:4000/v1")
    monkeypatch.setenv("INFERSTACK_UPSTREAM__RETRY__MAX_ATTEMPTS", "5")
    upstream = Settings().upstream
    assert upstream is not None
    # The env's keys override the yaml's one by one; the yaml's type stays.
    assert (str(upstream.base_url), upstream.type) == ("http://127.0.0.1:4000/v1", "openai")
    assert upstream.retry.max_attempts == 5


def test_nested_env_vars_alone_build_a_nested_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERSTACK_CONFIG_FILE", str(tmp_path / "none.yaml"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INFERSTACK_UPSTREAM__BASE_URL", "https://api.anthropic.com")
    monkeypatch.setenv("INFERSTACK_UPSTREAM__TYPE", "anthropic")
    monkeypatch.setenv("INFERSTACK_MAX_BODY_BYTES", "2048")  # flat names are unchanged
    settings = Settings()
    assert settings.upstream is not None
    assert settings.upstream.type == "anthropic"
    assert settings.max_body_bytes == 2048


OPENAI_UPSTREAM_YAML = "upstream:\n  base_url: https://api.openai.com/v1\n  type: openai\n"


def _use_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """`text` as the gateway's yaml (INFERSTACK_CONFIG_FILE), run from its folder."""
    config = tmp_path / "gateway.yaml"
    config.write_text(text)
    monkeypatch.setenv("INFERSTACK_CONFIG_FILE", str(config))
    monkeypatch.chdir(tmp_path)


def test_the_anthropic_model_map_is_taken_whole_from_the_source_that_sets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its patterns match in order: a map merged key by key into the yaml's would try the
    yaml's `claude-*` before the variable's `claude-*haiku*`."""
    _use_config(tmp_path, monkeypatch, 'anthropic_model_map: {"claude-*": default, "x": y}\n')
    monkeypatch.delenv("INFERSTACK_ANTHROPIC_MODEL_MAP", raising=False)
    assert Settings().anthropic_model_map == {"claude-*": "default", "x": "y"}
    (tmp_path / "gateway.local.yaml").write_text('anthropic_model_map: {"claude-3*": a}\n')
    assert list(Settings().anthropic_model_map.items()) == [("claude-3*", "a")]
    ordered = {"claude-*haiku*": "gpt-4o-mini", "claude-*": "gpt-4o"}
    monkeypatch.setenv("INFERSTACK_ANTHROPIC_MODEL_MAP", json.dumps(ordered))
    assert list(Settings().anthropic_model_map.items()) == list(ordered.items())
    assert list(Settings(anthropic_model_map={"b*": "b"}).anthropic_model_map) == ["b*"]
