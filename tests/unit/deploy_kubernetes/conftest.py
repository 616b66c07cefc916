"""The overlays rendered once for every module here."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.unit.deploy_kubernetes.manifests import (
    COMPOSE_FILE,
    KUBERNETES,
    OVERLAYS,
    Objects,
    overlay_with,
    render,
)


@pytest.fixture(scope="session")
def rendered() -> dict[str, Objects]:
    return {overlay: render(KUBERNETES / "overlays" / overlay) for overlay in OVERLAYS}


@pytest.fixture(scope="session")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Objects:
    """The cpu overlay plus components/monitoring, as the README tells operator users."""
    target = overlay_with(
        tmp_path_factory.mktemp("monitored"),
        [KUBERNETES / "overlays" / "cpu"],
        [KUBERNETES / "components" / "monitoring"],
    )
    return render(target)


@pytest.fixture(scope="session")
def compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    return services
