from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry


@pytest.fixture
def gateway(models_file: Path, tmp_path: Path) -> Iterator[TestClient]:
    """The usual models (tests/unit/conftest.py) plus `on-max`, tiny on MAX Serve; no cache."""
    registry = yaml.safe_load(models_file.read_text())
    tiny = next(m for m in registry["models"] if m["name"] == "tiny-chatml")
    registry["models"].append(
        {**tiny, "name": "on-max", "aliases": [], "engine": {**tiny["engine"], "kind": "max"}}
    )
    path = tmp_path / "models-with-max.yaml"
    path.write_text(yaml.safe_dump(registry))
    settings = Settings(models_file=path, cache_enabled=False)
    with TestClient(create_app(settings, ModelRegistry.from_file(path))) as client:
        yield client
