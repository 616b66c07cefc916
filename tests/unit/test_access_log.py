"""The access log: a line per front-door request from its finished row, a warning above
the slow-request threshold, and logs into a rotating file."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_server.access_log import AccessLog
from api_server.app import create_app
from api_server.config import Settings
from api_server.log_format import configure_logging
from api_server.logs.record import DiscardingSink, RequestLogRecord
from api_server.registry import ModelRegistry
from tests.unit.scripted_engine import ScriptedEngine

HELLO = [{"role": "user", "content": "hi"}]


def _row(latency_ms: float) -> RequestLogRecord:
    return RequestLogRecord(
        id="req-1",
        received_at=datetime.now(UTC),
        endpoint="/v1/chat/completions",
        api_flavour="openai",
        model="tiny-chatml",
        status_code=200,
        prompt_tokens=7,
        completion_tokens=3,
        latency_ms=latency_ms,
    )


def _access_lines(caplog: pytest.LogCaptureFixture, level: int) -> list[dict[str, object]]:
    return [
        getattr(r, "fields")  # noqa: B009 - set through `extra`, unknown to the type
        for r in caplog.records
        if r.name == "api_server.access" and r.levelno == level
    ]


def _gateway(models_file: Path, **settings: object) -> TestClient:
    app = create_app(
        Settings(models_file=models_file, **settings),  # type: ignore[arg-type]
        ModelRegistry.from_file(models_file),
        DiscardingSink(),
    )
    return TestClient(app)


def test_a_chat_request_leaves_an_access_line_with_its_fields(
    models_file: Path, engine: ScriptedEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="api_server.access")
    with _gateway(models_file) as client:
        response = client.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO})
    [line] = _access_lines(caplog, logging.INFO)
    assert line["request_id"] == response.headers["x-request-id"]
    assert (line["method"], line["path"], line["status"], line["model"]) == (
        "POST",
        "/v1/chat/completions",
        200,
        "tiny-chatml",
    )
    assert (line["prompt_tokens"], line["completion_tokens"]) == (7, 3)
    assert isinstance(line["latency_ms"], float)


def test_a_refused_request_is_logged_with_its_status(
    models_file: Path, engine: ScriptedEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="api_server.access")
    with _gateway(models_file) as client:
        client.post("/v1/chat/completions", json={"model": "no-such-model", "messages": HELLO})
    [line] = _access_lines(caplog, logging.INFO)
    assert (line["status"], line["path"]) == (404, "/v1/chat/completions")


def test_no_access_line_when_turned_off(
    models_file: Path, engine: ScriptedEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="api_server.access")
    with _gateway(models_file, access_log=False) as client:
        client.post("/v1/chat/completions", json={"model": "tiny", "messages": HELLO})
    assert _access_lines(caplog, logging.INFO) == []


def test_a_warning_only_above_the_slow_request_threshold(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="api_server.access")
    access = AccessLog(enabled=False, slow_request_warning_s=2.0)
    access.finished(_row(latency_ms=2000.0))  # at the threshold: not over it
    assert _access_lines(caplog, logging.WARNING) == []
    access.finished(_row(latency_ms=2500.0))
    [warning] = _access_lines(caplog, logging.WARNING)
    assert (warning["event"], warning["path"], warning["model"]) == (
        "slow_request",
        "/v1/chat/completions",
        "tiny-chatml",
    )
    assert (warning["latency_ms"], warning["request_id"], warning["threshold_s"]) == (
        2500.0,
        "req-1",
        2.0,
    )


def test_no_slow_request_warning_when_turned_off(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="api_server.access")
    AccessLog(slow_request_warning_s=None).finished(_row(latency_ms=10**9))
    assert _access_lines(caplog, logging.WARNING) == []
    assert len(_access_lines(caplog, logging.INFO)) == 1


@pytest.fixture
def restored_root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:], root.level = handlers, level


@pytest.mark.usefixtures("restored_root_logging")
def test_logs_go_to_a_file_as_json_lines_and_rotate(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "gateway.log"
    configure_logging("info", "json", log_file, max_bytes=400, backups=2)
    for n in range(20):
        logging.getLogger("api_server.access").info("line %d", n, extra={"fields": {"n": n}})
    lines = log_file.read_text().splitlines()
    assert lines and all(json.loads(line)["logger"] == "api_server.access" for line in lines)
    assert json.loads(lines[-1])["n"] == 19
    rotated = sorted(p.name for p in log_file.parent.iterdir())
    assert rotated == ["gateway.log", "gateway.log.1", "gateway.log.2"]  # backups capped


@pytest.mark.parametrize("variable", ["INFERSTACK_LOG_FILE", "LOG_FILE"])
def test_the_log_file_is_read_from_either_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str
) -> None:
    monkeypatch.setenv("INFERSTACK_CONFIG_FILE", str(tmp_path / "none.yaml"))
    monkeypatch.setenv(variable, "/var/log/inferstack.log")
    settings = Settings()
    assert settings.log_file == Path("/var/log/inferstack.log")
    assert (settings.log_file_max_bytes, settings.log_file_backups) == (10 * 1024 * 1024, 5)


def test_the_log_file_is_off_unless_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INFERSTACK_CONFIG_FILE", str(tmp_path / "none.yaml"))
    assert Settings().log_file is None
    assert Settings(log_file=tmp_path / "x.log").log_file == tmp_path / "x.log"
