"""Run the native stack from Python, e.g. once per integration-test session, in its own state
folder and on its own ports, beside any stack already running:

    from stackctl.api import NativeStack

    with NativeStack(tmp_path / "stack", services=["postgres", "redis", "engine"],
                     free_ports=True) as stack:
        stack.url("engine")             # http://127.0.0.1:41234
        stack.port("redis")             # 41235
        stack.env("gateway")            # INFERSTACK_DATABASE_URL, INFERSTACK_REDIS_URL, ...

`profiles` adds optional services (vllm, max); `services` picks a subset (their dependencies
come along); `ports` moves named services;
`free_ports` gives every other service a free port, and a free one to each var named
*_port (a second port of a service, e.g. MAX Serve's metrics). start() raises StackError naming the
service that failed (its log tail is printed); leaving the block stops everything.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType

from stackctl import commands
from stackctl.errors import StackError
from stackctl.stack import DEFAULT_CONFIG, Stack, open_stack
from stackctl.values import override_env_name


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class NativeStack:
    def __init__(
        self,
        state_dir: Path,
        *,
        services: Iterable[str] | None = None,
        ports: Mapping[str, int] | None = None,
        free_ports: bool = False,
        config: Path = DEFAULT_CONFIG,
        environ: Mapping[str, str] | None = None,
        profiles: Iterable[str] = (),
    ) -> None:
        env = dict(os.environ if environ is None else environ)
        only = list(services) if services is not None else None
        chosen = dict(ports or {})
        if free_ports:
            # Every service gets a port of its own, chosen or not: the gateway's environment
            # names them all.
            every = open_stack(config, environ=env, state_dir=state_dir).every_service
            for service in every:
                chosen.setdefault(service.name, free_port())
                # Like the services' own ports, these beat any in the environment: one
                # copied from another stack's (as tests do) would put both on the same port.
                for var in service.vars:
                    if var.endswith("_port"):
                        env[override_env_name(service.name, var)] = str(free_port())
        self.stack: Stack = open_stack(
            config,
            environ=env,
            state_dir=state_dir,
            port_overrides=chosen,
            only=only,
            profiles=list(profiles),
        )

    @property
    def state_dir(self) -> Path:
        return self.stack.paths.state_dir

    @property
    def logs_dir(self) -> Path:
        return self.stack.paths.logs_dir

    def start(self) -> None:
        """Start every service and wait until healthy (idempotent)."""
        if commands.start(self.stack) != 0:
            raise StackError(f"the native stack did not come up; logs in {self.logs_dir}")

    def stop(self) -> None:
        """Stop every service and supervisord; no process of this stack is left."""
        commands.stop(self.stack)

    def stop_service(self, name: str) -> None:
        """Stop one service (e.g. PostgreSQL, to test what happens while it is down)."""
        service = self.stack.service(name)
        self.stack.supervisor.stop(name, timeout=service.stop_timeout_s + 10)

    def start_service(self, name: str) -> None:
        """Start one stopped service and wait until healthy (its after_start runs too)."""
        if not commands._bring_up(self.stack, self.stack.service(name)):
            raise StackError(f"{name} did not come back; logs in {self.logs_dir}")

    def __enter__(self) -> NativeStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def port(self, service: str) -> int:
        return self.stack.service(service).port

    def url(self, service: str) -> str:
        """The service's URL as configs/stack.yaml shows it (http://..., redis://...)."""
        return self.stack.url(self.stack.service(service))

    def env(self, service: str) -> dict[str, str]:
        """The environment the service runs with (for the gateway: its database, Redis,
        engine, Qdrant and object-store settings), e.g. to run a gateway of one's own."""
        return self.stack.env(self.stack.service(service))

    def value(self, service: str, key: str) -> str:
        """One of the service's values: host, port or a var (e.g. postgres password)."""
        return self.stack.values(self.stack.service(service))[key]
