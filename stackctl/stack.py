"""One stack as configured: its services (with overrides applied), state folder, supervisord,
and every service's expanded command, environment and URLs."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Collection, Mapping
from pathlib import Path

from stackctl.binaries import (
    engine_env_path,
    llama_server_path,
    postgres_bin_dir,
    redis_server_path,
)
from stackctl.errors import StackError
from stackctl.paths import REPO_ROOT, StatePaths, state_paths
from stackctl.secrets import redis_auth_conf, stack_secret
from stackctl.spec import ServiceSpec, StackSpec, load_stack
from stackctl.supervisor_rpc import SupervisorClient
from stackctl.supervisord_conf import Program, render_supervisord_conf
from stackctl.values import (
    LazyValues,
    Resolver,
    expand,
    expand_all,
    service_values,
    services_named,
)


def port_env_name(service: str) -> str:
    """The environment variable that moves a service to another port."""
    return f"STACKCTL_{service}_PORT".upper().replace("-", "_")


def host_env_name(service: str) -> str:
    """The environment variable that makes a service listen on another address."""
    return f"STACKCTL_{service}_HOST".upper().replace("-", "_")


def _with_hosts(services: list[ServiceSpec], environ: Mapping[str, str]) -> list[ServiceSpec]:
    return [
        spec.model_copy(update={"host": environ[host_env_name(spec.name)]})
        if environ.get(host_env_name(spec.name))
        else spec
        for spec in services
    ]


def _with_ports(
    services: list[ServiceSpec], environ: Mapping[str, str], overrides: Mapping[str, int]
) -> list[ServiceSpec]:
    names = {spec.name for spec in services}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise StackError(f"port override for unknown service(s): {', '.join(unknown)}")
    moved: list[ServiceSpec] = []
    for spec in services:
        port: int | str | None = overrides.get(spec.name, environ.get(port_env_name(spec.name)))
        if port is None:
            moved.append(spec)
            continue
        try:
            number = int(port)
        except ValueError:
            number = 0
        if not 0 < number < 65536:
            raise StackError(f"{port_env_name(spec.name)}={port} is not a port number")
        moved.append(spec.model_copy(update={"port": number}))
    return moved


class Stack:
    """One stack: its services, its state folder and its supervisord.

    `profiles` adds the optional services of those profiles (vLLM, MAX Serve); `only` runs
    a subset (with their dependencies); `port_overrides` (and env STACKCTL_<SERVICE>_PORT)
    move services to other ports, env STACKCTL_<SERVICE>_HOST to another address (e.g.
    STACKCTL_GATEWAY_HOST=0.0.0.0, with auth on); `state_dir` (and env
    INFERSTACK_STATE_DIR) puts the runtime data elsewhere. Two stacks with different state
    folders and ports run side by side.
    """

    def __init__(
        self,
        root: Path,
        spec: StackSpec,
        environ: Mapping[str, str],
        *,
        state_dir: Path | None = None,
        port_overrides: Mapping[str, int] | None = None,
        only: Collection[str] | None = None,
        profiles: Collection[str] = (),
    ) -> None:
        self.root = root
        self.spec = spec
        self.environ = environ
        self.paths: StatePaths = (
            StatePaths((root / state_dir).resolve())
            if state_dir is not None
            else state_paths(root, spec.state_dir, environ)
        )
        self.profiles = tuple(profiles)
        self.active = frozenset(spec.chosen(profiles, named=only or ()))
        every = _with_hosts(_with_ports(spec.ordered(), environ, port_overrides or {}), environ)
        self._all = {service.name: service for service in every}
        wanted = (
            {s.name for s in spec.with_dependencies(only, self.active)}
            if only is not None
            else self.active
        )
        # What this stack runs, in start order; `every_service` adds the profiles not chosen.
        self.services = [s for s in every if s.name in wanted]
        self.every_service = every
        self.supervisor = SupervisorClient(self.paths.socket)
        self._base: dict[str, str | Resolver] = {
            "root": str(root),
            "state_dir": str(self.paths.state_dir),
            "python": sys.executable,
            "llama_server": functools.cache(lambda: llama_server_path(root, environ)),
            "vllm_env": functools.cache(lambda: engine_env_path(root, "vllm", environ)),
            "max_env": functools.cache(lambda: engine_env_path(root, "max", environ)),
            "cache_dir": environ.get("INFERSTACK_CACHE")
            or str(Path.home() / ".cache" / "inferstack"),
            "redis_server": functools.cache(redis_server_path),
            "postgres_bin": functools.cache(postgres_bin_dir),
            "redis_password": functools.cache(self._redis_password),
            "redis_conf": functools.cache(
                lambda: redis_auth_conf(self.paths.state_dir, self._redis_password())
            ),
        }
        self._values: dict[str, LazyValues] = {}

    def _redis_password(self) -> str:
        return stack_secret(self.paths.state_dir, "redis-password")

    @property
    def owner(self) -> str:
        """The marker value every process of this stack carries (see processes.py)."""
        return str(self.paths.state_dir)

    def service(self, name: str) -> ServiceSpec:
        try:
            return self._all[name]
        except KeyError:
            raise StackError(
                f"unknown service {name!r} (services: {', '.join(self._all)})"
            ) from None

    def values(self, service: ServiceSpec) -> LazyValues:
        """What the service's strings may name; ${other.key} reaches another service's."""
        if service.name not in self._values:
            base = dict(self._base)
            for other in self._all.values():
                if other.name == service.name:
                    continue
                for key in ("name", "host", "port", *other.vars):
                    base[f"{other.name}.{key}"] = functools.partial(self._other, other.name, key)
                # "true" when the other service runs in this stack (its profile was chosen).
                base[f"{other.name}.active"] = str(other.name in self.active).lower()
            self._values[service.name] = service_values(service, base, self.environ)
        return self._values[service.name]

    def _other(self, name: str, key: str) -> str:
        return self.values(self._all[name])[key]

    def expand(self, service: ServiceSpec, template: str, field: str) -> str:
        return expand(template, self.values(service), f"{service.name}.{field}")

    def health_url(self, service: ServiceSpec) -> str:
        return self.expand(service, service.health, "health")

    def url(self, service: ServiceSpec) -> str:
        return self.expand(service, service.url, "url")

    def env(self, service: ServiceSpec) -> dict[str, str]:
        return {k: self._env_value(service, k, v) for k, v in service.env.items()}

    def _env_value(self, service: ServiceSpec, key: str, value: str | tuple[str, ...]) -> str:
        if isinstance(value, str):
            return self.expand(service, value, f"env.{key}")
        # A list of the services that run, e.g. the gateway's LLAMACPP_URLS: one URL per
        # llama-server replica started.
        running = [item for item in value if services_named(item) <= self.active]
        return ",".join(self.expand(service, item, f"env.{key}") for item in running)

    def dirs(self, service: ServiceSpec) -> list[Path]:
        return [self.root / self.expand(service, d, "dirs") for d in service.dirs]

    def after_start(self, service: ServiceSpec) -> list[list[str]]:
        values = self.values(service)
        return [
            expand_all(argv, values, f"{service.name}.after_start") for argv in service.after_start
        ]

    def program(self, service: ServiceSpec, index: int) -> Program:
        command = expand_all(service.command, self.values(service), f"{service.name}.command")
        return Program(
            name=service.name,
            # Under the reaper, nothing a service started outlives it (see stackctl.reaper).
            argv=(sys.executable, "-m", "stackctl.reaper", "--", *command),
            # supervisord stops in reverse priority order: dependents first.
            priority=100 + 10 * index,
            stop_timeout_s=service.stop_timeout_s,
            stop_signal=service.stop_signal,
            env=self.env(service),
        )

    def supervisord_conf(self) -> str:
        programs = [self.program(service, i) for i, service in enumerate(self.services)]
        return render_supervisord_conf(programs, self.paths, self.root)


DEFAULT_CONFIG = REPO_ROOT / "configs" / "stack.yaml"


def open_stack(
    config: Path = DEFAULT_CONFIG,
    *,
    root: Path = REPO_ROOT,
    environ: Mapping[str, str] = os.environ,
    state_dir: Path | None = None,
    port_overrides: Mapping[str, int] | None = None,
    only: Collection[str] | None = None,
    profiles: Collection[str] = (),
) -> Stack:
    return Stack(
        root,
        load_stack(config),
        environ,
        state_dir=state_dir,
        port_overrides=port_overrides,
        only=only,
        profiles=profiles,
    )
