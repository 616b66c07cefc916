"""Engines as compose runs them (images, flags, batch, startup), and every container non-root
with a read-only root."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.deploy_kubernetes.manifests import (
    COMPOSE_SERVICE_OF,
    DOCKERFILE,
    ENGINE_URL_VARS,
    ENGINES,
    GPU,
    GPU_OVERLAYS,
    MAX_SERVE_CONFIG,
    MODELS_FILE,
    MOVING_TAGS,
    OVERLAYS,
    ROOT,
    Objects,
    all_containers,
    assert_hardened,
    compose_value,
    container_of,
    engine_workload,
    gateway_container,
    generated,
    named,
    resolved_env,
)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_non_root_with_a_read_only_root(
    rendered: dict[str, Objects], overlay: str
) -> None:
    assert_hardened(rendered[overlay])


def test_hardening_check_catches_a_writable_root(rendered: dict[str, Objects]) -> None:
    objects = json.loads(json.dumps(rendered["cpu"]))
    container_of(objects, "redis")["securityContext"]["readOnlyRootFilesystem"] = False
    with pytest.raises(AssertionError, match="redis/redis: writable root"):
        assert_hardened(objects)


# --- (f) images and engine flags: compose's ----------------------------------------------------


def _assert_pinned(image: str, where: str) -> None:
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag, f"{where}: {image} has no tag"
    assert tag not in MOVING_TAGS and re.search(r"\d", tag), f"{where}: {image} is not pinned"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_pinned_and_the_same_as_composes(
    rendered: dict[str, Objects], compose_services: dict[str, dict[str, Any]], overlay: str
) -> None:
    for workload, _, container in all_containers(rendered[overlay]):
        image = container["image"]
        _assert_pinned(image, workload)
        service = COMPOSE_SERVICE_OF.get(container["name"], container["name"])
        assert service in compose_services, f"{workload}: no compose service {service}"
        expected = compose_value(compose_services[service]["image"])
        assert image == expected, f"{workload}: {image}, compose runs {expected}"


def _flags(args: list[str]) -> dict[str, str | None]:
    """`--flag value` and bare `--flag` pairs, in order."""
    flags: dict[str, str | None] = {}
    for i, part in enumerate(args):
        if part.startswith("--"):
            following = args[i + 1] if i + 1 < len(args) else None
            is_value = following is not None and not following.startswith("--")
            flags[part] = following if is_value else None
    return flags


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_engine_flags_are_composes(
    rendered: dict[str, Objects], compose_services: dict[str, dict[str, Any]], overlay: str
) -> None:
    """The flags of compose's engine with its defaults; weights under /models (the volume),
    llama.cpp's threads the CPUs the pod may use."""
    engine = ENGINES[overlay]
    container = container_of(rendered[overlay], engine)
    ours = _flags([str(a) for a in container["args"]])
    theirs = _flags([compose_value(a) for a in compose_services[engine]["command"]])
    assert ours.keys() == theirs.keys(), f"{engine}: {ours.keys() ^ theirs.keys()}"
    for flag in ("--model", "--model-path"):
        if flag in ours:
            assert str(ours.pop(flag)).startswith("/models/")
            theirs.pop(flag)
    if "--threads" in ours:
        assert ours.pop("--threads") == str(container["resources"]["limits"]["cpu"])
        theirs.pop("--threads")
    assert ours == theirs
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/models"].get("readOnly") is True
    volumes = {
        v["name"]: v
        for v in engine_workload(rendered[overlay], overlay)["spec"]["template"]["spec"]["volumes"]
    }
    assert volumes[mounts["/models"]["name"]]["persistentVolumeClaim"]["claimName"] == "models"


def test_gpu_engines_batch_as_max_serve_config_says(rendered: dict[str, Objects]) -> None:
    batching = yaml.safe_load(MAX_SERVE_CONFIG.read_text())["batching"]
    vllm = _flags(container_of(rendered["vllm"], "vllm")["args"])
    max_serve = _flags(container_of(rendered["max"], "max")["args"])
    assert vllm["--max-num-seqs"] == str(batching["max_batch_size"]) == "32"
    assert max_serve["--max-batch-size"] == str(batching["max_batch_size"])
    assert max_serve["--ce-delay-ms"] == str(batching["batch_window_ms"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_engine_startup_outlasts_composes_start_period(
    rendered: dict[str, Objects], compose_services: dict[str, dict[str, Any]], overlay: str
) -> None:
    engine = ENGINES[overlay]
    probe = container_of(rendered[overlay], engine)["startupProbe"]
    budget_s = probe["periodSeconds"] * probe["failureThreshold"]
    start_period = compose_services[engine]["healthcheck"]["start_period"]
    assert budget_s >= int(start_period.removesuffix("s")), f"{engine}: {budget_s} s to load"
    assert probe["httpGet"]["path"] == "/health"


# --- (g) engines: GPUs, replicas the gateway knows by name ---------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gpus_are_requested_by_gpu_engines_only(rendered: dict[str, Objects], overlay: str) -> None:
    objects = rendered[overlay]
    for workload, _, container in all_containers(objects):
        resources = container.get("resources", {})
        wants = {part: resources.get(part, {}).get(GPU) for part in ("requests", "limits")}
        if overlay in GPU_OVERLAYS and workload == ENGINES[overlay]:
            assert wants["limits"] is not None and int(wants["limits"]) >= 1, workload
        else:
            assert wants == {"requests": None, "limits": None}, f"{workload} asks for a GPU"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_lists_every_engine_replica_by_name(
    rendered: dict[str, Objects], overlay: str
) -> None:
    """Prefix routing and breakers are per replica: the gateway needs each pod's address
    (a headless Service), one per replica, and the registry's enabled models use them."""
    objects = rendered[overlay]
    engine = ENGINES[overlay]
    workload = engine_workload(objects, overlay)
    service = named(objects, "Service", workload["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"
    port = next(
        p["containerPort"] for p in container_of(objects, engine)["ports"] if p["name"] == "http"
    )
    expected = {
        f"http://{engine}-{i}.{service['metadata']['name']}:{port}"
        for i in range(workload["spec"]["replicas"])
    }
    environ = resolved_env(objects, gateway_container(objects))
    listed = environ[ENGINE_URL_VARS[engine]].split(",")
    assert set(listed) == expected and len(listed) == len(expected)
    registry = ModelRegistry.from_file(MODELS_FILE, environ=environ)
    local = [m for m in registry.models if m.engine.kind in ("llamacpp", "vllm", "max")]
    assert local, "no local model is enabled"
    args = _flags(container_of(objects, engine)["args"])
    served = args.get("--served-model-name") or args.get("--alias")
    for model in local:
        assert model.engine.kind == engine, f"{model.name} needs {model.engine.kind}"
        assert {str(u).rstrip("/") for u in model.engine.urls} == expected
        assert model.engine.served_name == served


# --- (h) configuration from the repo's files ----------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_configmaps_hold_the_repos_own_files(rendered: dict[str, Objects], overlay: str) -> None:
    objects = rendered[overlay]
    config = generated(objects, "gateway-config")["data"]
    assert config == {
        "gateway.yaml": (ROOT / "configs" / "gateway.yaml").read_text(),
        "models.yaml": MODELS_FILE.read_text(),
    }
    init = generated(objects, "postgres-init")["data"]
    assert init == {"init.sql": (ROOT / "init-scripts" / "postgres" / "init.sql").read_text()}
    dashboard_file = ROOT / "configs" / "grafana" / "dashboards" / "inferstack-gateway.json"
    dashboards = generated(objects, "grafana-dashboards")
    assert dashboards["data"] == {dashboard_file.name: dashboard_file.read_text()}
    assert dashboards["metadata"]["labels"]["grafana_dashboard"] == "1"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_configmaps_are_mounted_where_they_are_read(
    rendered: dict[str, Objects], overlay: str
) -> None:
    objects = rendered[overlay]
    # The gateway reads configs/ relative to the image's WORKDIR.
    workdir = re.findall(r"^WORKDIR\s+(\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE)[-1]
    assert Settings.model_fields["models_file"].default == Path("configs/models.yaml")
    _assert_mounted(objects, "gateway", f"{workdir}/configs", "gateway-config")
    _assert_mounted(objects, "postgres", "/docker-entrypoint-initdb.d", "postgres-init")


def _assert_mounted(objects: Objects, workload: str, path: str, config: str) -> None:
    spec = next(s for name, s, _ in all_containers(objects) if name == workload)
    mounts = {m["mountPath"]: m["name"] for m in container_of(objects, workload)["volumeMounts"]}
    assert path in mounts, f"{workload}: nothing at {path}"
    volume = next(v for v in spec["volumes"] if v["name"] == mounts[path])
    assert volume["configMap"]["name"] == generated(objects, config)["metadata"]["name"]
