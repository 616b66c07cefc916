"""Several workers: the settings the supervisor resolved reach each worker whole (secrets
included, and only to its owner), local-mode Qdrant is refused, `--workers` reaches the
settings, and metrics recorded in separate processes add up in one scrape."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api_server.cli import _run_settings, _serve_settings
from api_server.config import Settings
from api_server.metrics import MULTIPROCESS_DIR_VARIABLE, GatewayMetrics
from api_server.workers import read_worker_settings, write_worker_settings

ADMIN = "an-admin-key-long-enough"
STATIC_HASH = "sha256:" + "ab" * 32


def _full_settings(tmp_path: Path) -> Settings:
    return Settings(
        workers=3,
        port=9123,
        models_file=tmp_path / "models.yaml",
        admin_key=ADMIN,
        database_url="postgresql://user:s3cret-pw@127.0.0.1:5432/logs",
        redis_url="redis://:r3dis-pw@127.0.0.1:6379/0",
        auth_mode="api_key",
        static_api_keys=[STATIC_HASH, {"hash": "sha256:" + "cd" * 32, "models": ["m"]}],
        qdrant_url="http://127.0.0.1:6333",
        qdrant_path=tmp_path / "ignored-beside-the-url",
        upstream={
            "base_url": "https://api.example.com",
            "type": "openai",
            "auth": {"style": "env", "api_key_env": "EXAMPLE_KEY"},
            "retry": {"max_attempts": 5},
        },
        interceptors=[{"type": "event_recorder", "path": str(tmp_path / "rec.jsonl")}],
        anthropic_model_map={"claude-*haiku*": "small", "claude-*": "big"},
        cors_allow_origins=["https://app.example.com"],
        log_file=tmp_path / "gateway.log",
        request_timeout_s=None,
    )


def test_a_worker_gets_every_setting_the_supervisor_resolved(tmp_path: Path) -> None:
    settings = _full_settings(tmp_path)
    path = tmp_path / "settings.json"
    write_worker_settings(settings, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # secrets in clear: the owner's only
    restored = read_worker_settings(path)
    assert restored == settings
    assert restored.admin_key is not None
    assert restored.admin_key.get_secret_value() == ADMIN  # SecretStr compares values anyway
    assert list(restored.anthropic_model_map) == ["claude-*haiku*", "claude-*"]  # in order


def test_a_worker_reads_no_other_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.json"
    write_worker_settings(Settings(port=9001), path)
    monkeypatch.setenv("INFERSTACK_PORT", "9002")  # a worker's environment must not win
    assert read_worker_settings(path).port == 9001


def test_what_privacy_mode_turned_off_is_still_told(tmp_path: Path) -> None:
    settings = Settings(privacy_mode=True, cache_enabled=True, archive_enabled=True)
    path = tmp_path / "settings.json"
    write_worker_settings(settings, path)
    restored = read_worker_settings(path)
    assert restored.privacy_turned_off == settings.privacy_turned_off
    assert len(restored.privacy_turned_off) == 2
    assert not restored.cache_enabled and not restored.archive_enabled


def test_local_mode_qdrant_with_several_workers_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="local-mode Qdrant is one process's alone"):
        Settings(workers=2, qdrant_path=tmp_path / "qdrant")
    Settings(workers=1, qdrant_path=tmp_path / "qdrant")
    Settings(workers=2, qdrant_path=tmp_path / "q", qdrant_url="http://127.0.0.1:6333")


def test_the_workers_flag_and_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INFERSTACK_CONFIG_FILE", os.devnull)
    assert _serve_settings([]).workers == 1
    monkeypatch.setenv("INFERSTACK_WORKERS", "3")
    assert _serve_settings([]).workers == 3
    assert _serve_settings(["--workers", "2"]).workers == 2  # the flag wins
    proxy = ["--base-url", "http://127.0.0.1:9/v1", "--type", "openai", "--workers", "4"]
    assert _run_settings(proxy).workers == 4
    for bad in (["--workers", "0"], ["--workers", "x"]):
        with pytest.raises(SystemExit):
            _serve_settings(bad)


def test_a_flag_at_odds_with_the_settings_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("INFERSTACK_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("INFERSTACK_QDRANT_PATH", str(tmp_path / "qdrant"))
    with pytest.raises(SystemExit) as exited:
        _serve_settings(["--workers", "2"])
    assert exited.value.code == 2
    assert "qdrant_url" in capsys.readouterr().err


def _record_in_a_worker(served: int, leave_running: bool, ready: object, stop: object) -> None:
    metrics = GatewayMetrics(Path(os.environ[MULTIPROCESS_DIR_VARIABLE]))
    metrics.requests.labels("/v1/chat/completions", "m", "200").inc(served)
    metrics.in_flight.labels("m").inc(served)
    metrics.request_latency.labels("/v1/chat/completions", "m").observe(0.2)
    if not leave_running:
        metrics.in_flight.labels("m").dec(served)
        metrics.worker_exits()
        ready.set()  # type: ignore[attr-defined]
        return
    ready.set()  # type: ignore[attr-defined]
    stop.wait(60)  # type: ignore[attr-defined]


def _samples(text: bytes) -> dict[str, float]:
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            if sample.name in values:
                values[sample.name] += sample.value
            else:
                values[sample.name] = sample.value
    return values


def test_metrics_of_separate_worker_processes_add_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # prometheus_client reads the variable when a process first imports it: spawned
    # processes (as uvicorn's workers are) start afresh with it set.
    monkeypatch.setenv(MULTIPROCESS_DIR_VARIABLE, str(tmp_path))
    spawn = multiprocessing.get_context("spawn")
    workers, stops = [], []  # one stop each: killing a waiter would break a shared Event
    for served, leave_running in ((3, True), (4, False), (5, True)):
        ready, stop = spawn.Event(), spawn.Event()
        worker = spawn.Process(
            target=_record_in_a_worker, args=(served, leave_running, ready, stop)
        )
        worker.start()
        assert ready.wait(60)
        workers.append(worker)
        stops.append(stop)
    scrape = GatewayMetrics(tmp_path)  # as the worker a scrape reaches: it reads the files
    try:
        seen = _samples(scrape.render())
        assert seen["inferstack_requests_total"] == 12  # 3 + 4 + 5, the exited one's too
        assert seen["inferstack_request_latency_seconds_count"] == 3
        assert seen["inferstack_requests_in_flight"] == 8  # the live ones' only
        workers[0].kill()  # dies without a word: its gauge leaves the sum, its counts stay
        workers[0].join(30)
        seen = _samples(scrape.render())
        assert seen["inferstack_requests_total"] == 12
        assert seen["inferstack_requests_in_flight"] == 5
    finally:
        for worker, stop in zip(workers, stops, strict=True):
            if worker.is_alive():
                stop.set()
            worker.join(30)
