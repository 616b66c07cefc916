"""`inferstack run`'s settings: flags > the --config file > INFERSTACK_* > defaults, the
file's upstream block merged field by field, usage errors, and the refusal of an open relay
that spends our key."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from api_server.cli import _run_settings, main
from api_server.interceptors.config import EventRecorderSpec, MessageLoggerSpec, PrinterSpec
from api_server.proxy_mode import UpstreamSettings
from api_server.registry import RetrySpec, UpstreamAuth


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
