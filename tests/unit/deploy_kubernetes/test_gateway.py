"""The gateway as N replicas: probes on its real routes, its budget and autoscaler, its
settings and backing services, secrets by reference only, and the request-log spool on a
volume of its own per pod."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import yaml
from fastapi import FastAPI
from starlette.routing import Match

from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.deploy_kubernetes.manifests import (
    BACKING_COMPONENTS,
    COMPOSE_FILE,
    DEPENDENT_VAR,
    DOCKERFILE,
    MODELS_FILE,
    OVERLAYS,
    SECRET,
    SECRET_NAME,
    Objects,
    all_containers,
    env_of,
    gateway_container,
    named,
    resolved_env,
)


def _gateway_app(objects: Objects) -> FastAPI:
    """The gateway built from the overlay's own settings and registry (no lifespan runs)."""
    environ = resolved_env(objects, gateway_container(objects))
    registry = ModelRegistry.from_file(MODELS_FILE, environ=environ)
    return create_app(_settings_of(environ), registry=registry)


def _answers_get(app: FastAPI, path: str) -> bool:
    """A GET of `path` matches one of the app's routes, as Starlette routes a request."""
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_probes_point_at_real_routes(rendered: dict[str, Objects], overlay: str) -> None:
    objects = rendered[overlay]
    gateway = gateway_container(objects)
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
    gateway = named(objects, "StatefulSet", "gateway")
    labels = gateway["spec"]["template"]["metadata"]["labels"]
    assert gateway["spec"]["replicas"] >= 2
    assert gateway["spec"]["selector"]["matchLabels"].items() <= labels.items()
    budget = named(objects, "PodDisruptionBudget", "gateway")
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["minAvailable"] >= 1
    autoscaler = named(objects, "HorizontalPodAutoscaler", "gateway")
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "name": "gateway",
    }
    assert autoscaler["spec"]["minReplicas"] >= 2
    assert autoscaler["spec"]["maxReplicas"] > autoscaler["spec"]["minReplicas"]
    # The autoscaler's CPU target is a share of the request: there must be one.
    assert "cpu" in gateway_container(objects)["resources"]["requests"]
    service = named(objects, "Service", "gateway")
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
    for workload, _, container in all_containers(rendered[overlay]):
        for name in env_of(container):
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
    settings = _settings_of(resolved_env(objects, gateway_container(objects)))
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
        for name, entry in env_of(gateway_container(objects)).items():
            literal = str(entry.get("value", ""))
            hosts = set(re.findall(r"(?:://|@)([\w.-]+)", literal))
            assert not hosts & set(BACKING_COMPONENTS), (name, literal)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_come_only_from_the_users_secret(
    rendered: dict[str, Objects], overlay: str
) -> None:
    objects = rendered[overlay]
    assert not [o for o in objects if o["kind"] == "Secret"], "no Secret is shipped"
    for workload, _, container in all_containers(objects):
        env = env_of(container)
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
                    held = DEPENDENT_VAR.fullmatch(password)
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
    for workload, _, container in all_containers(rendered[overlay]):
        seen: set[str] = set()
        for entry in container.get("env", []):
            for used in DEPENDENT_VAR.findall(str(entry.get("value", ""))):
                assert used in seen, f"{workload}: {entry['name']} uses $({used}) before it"
            seen.add(entry["name"])


# --- (d) the spool on a volume per pod ----------------------------------------------------------


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_spool_is_on_a_volume_of_its_own_per_pod(
    rendered: dict[str, Objects], overlay: str
) -> None:
    objects = rendered[overlay]
    gateway = named(objects, "StatefulSet", "gateway")
    container = gateway_container(objects)
    spool = env_of(container)["INFERSTACK_REQUEST_LOG_SPOOL_DIR"]["value"]
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
