"""Several gateway processes on one port (`workers` > 1).

This process becomes the supervisor: it checks the app builds, writes the settings it
resolved (flags, files, environment) where only its workers can read them, points
prometheus_client's multiprocess mode at a fresh folder, then lets uvicorn bind the port,
start the workers, restart any that dies and stop them all on SIGINT/SIGTERM. Each worker
builds its app from exactly those settings (`worker_app`, an app factory), so it needs no
flags and reads no file of its own. The folder goes when the supervisor ends.

What each worker holds alone, and why that stays correct, is in the README ("Workers").
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI
from pydantic import SecretBytes, SecretStr

from api_server.app import create_app
from api_server.config import Settings
from api_server.log_format import configure_logging
from api_server.metrics import MULTIPROCESS_DIR_VARIABLE

SETTINGS_FILE_VARIABLE = "INFERSTACK_WORKER_SETTINGS_FILE"
_PRIVACY_KEY = "_privacy_turned_off"


def serve_workers(settings: Settings, **uvicorn_options: Any) -> None:
    create_app(settings)  # a bad models file or setting fails here, once, not in each worker
    with tempfile.TemporaryDirectory(prefix="inferstack-workers-") as folder:  # 0700
        settings_file = Path(folder) / "settings.json"
        write_worker_settings(settings, settings_file)
        metrics_dir = Path(folder) / "metrics"
        metrics_dir.mkdir()
        os.environ[SETTINGS_FILE_VARIABLE] = str(settings_file)
        os.environ[MULTIPROCESS_DIR_VARIABLE] = str(metrics_dir)
        uvicorn.run(
            f"{__name__}:worker_app", factory=True, workers=settings.workers, **uvicorn_options
        )


def worker_app() -> FastAPI:
    """The app of one worker (uvicorn calls this in each worker process)."""
    settings = read_worker_settings(Path(os.environ[SETTINGS_FILE_VARIABLE]))
    configure_gateway_logging(settings)
    return create_app(settings)


def configure_gateway_logging(settings: Settings) -> None:
    """Logging as the settings say, in the supervisor and in each worker alike."""
    configure_logging(
        settings.log_level,
        settings.log_format,
        settings.log_file,
        max_bytes=settings.log_file_max_bytes,
        backups=settings.log_file_backups,
        with_pid=settings.workers > 1,
    )


def write_worker_settings(settings: Settings, path: Path) -> None:
    """Every value, secrets in clear: the file is the owner's alone (0600, in a 0700
    folder), as the environment and files the values came from."""
    document = {
        "settings": settings.model_dump(),
        _PRIVACY_KEY: list(settings.privacy_turned_off),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(orjson.dumps(document, default=_plain))


def read_worker_settings(path: Path) -> Settings:
    """The supervisor's settings, validated again; no other source is read."""
    document = orjson.loads(path.read_bytes())
    settings = Settings.model_validate(document["settings"])
    # What privacy_mode turned off in the supervisor (here it finds it off already).
    assert settings.__pydantic_private__ is not None
    settings.__pydantic_private__[_PRIVACY_KEY] = tuple(document[_PRIVACY_KEY])
    return settings


def _plain(value: object) -> object:
    if isinstance(value, SecretStr | SecretBytes):
        return value.get_secret_value()
    return str(value)  # paths and URLs: each field parses its own text back
