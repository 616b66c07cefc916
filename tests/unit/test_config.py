from __future__ import annotations

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
