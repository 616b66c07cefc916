"""The native stack the routing bench runs on, as `make start REPLICAS=2 WORKERS=N` runs it
(PostgreSQL, Redis, two llama-server replicas splitting the cores, the gateway with N
processes), in a state folder of its own on free ports; and gateways of the bench's own
beside it on the same engines (one per routing policy)."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.procs import free_port, start_server
from stackctl.api import NativeStack
from stackctl.errors import StackError
from stackctl.paths import REPO_ROOT
from stackctl.ports import find_port_holder

MODEL = "SmolLM2-135M-Instruct"
ENGINES = ("engine", "engine2")
# Two llama-servers on the same cores split them (configs/stack.yaml, engine.vars.threads).
THREADS_PER_REPLICA = max(1, (os.cpu_count() or 2) // 2)


@dataclass(frozen=True)
class StackOptions:
    parallel: int  # llama-server slots per replica
    workers: int  # gateway processes
    gateway: bool = True  # the stack's own gateway (else only engines, Redis, PostgreSQL)
    settings: Mapping[str, str] = field(default_factory=dict)  # INFERSTACK_* for gateways


def patient_registry(folder: Path) -> Path:
    """The shipped SmolLM2 entry (its replicas from LLAMACPP_URLS, as the stack sets it)
    with time for a request queued behind dozens on one slot: the shipped 120 s to the first
    token would measure the bench's queue, not the routing."""
    shipped = yaml.safe_load((REPO_ROOT / "configs" / "models.yaml").read_text())
    entry = next(m for m in shipped["models"] if m["name"] == MODEL)
    patient = {**entry, "timeout_s": 600, "request_timeout_s": 900}
    path = folder / "models.yaml"
    path.write_text(yaml.safe_dump({"default_model": MODEL, "models": [patient]}))
    return path


@contextmanager
def replica_stack(folder: Path, options: StackOptions) -> Iterator[NativeStack]:
    environ = {
        **os.environ,
        **options.settings,
        "INFERSTACK_MODELS_FILE": str(patient_registry(folder)),
        "STACKCTL_GATEWAY_WORKERS": str(options.workers),
        # Several processes go without local-mode Qdrant (one process's alone), as make does.
        **({"STACKCTL_GATEWAY_QDRANT_PATH": ""} if options.workers > 1 else {}),
    }
    for engine in ENGINES:
        environ[f"STACKCTL_{engine.upper()}_PARALLEL"] = str(options.parallel)
        environ[f"STACKCTL_{engine.upper()}_THREADS"] = str(THREADS_PER_REPLICA)
    services = ["postgres", "redis", *ENGINES, *(["gateway"] if options.gateway else [])]
    with NativeStack(
        folder / "stack", services=services, free_ports=True, environ=environ, profiles=["replicas"]
    ) as stack:
        yield stack


def gateway_url(stack: NativeStack) -> str:
    return stack.url("gateway").replace("localhost", "127.0.0.1")


def kill_engine(stack: NativeStack, engine: str) -> int:
    """SIGKILL the llama-server of `engine` (found by its port; supervisord starts it again);
    its pid."""
    holder = find_port_holder(stack.port(engine))
    if holder is None:
        raise StackError(f"nothing listens on {engine}'s port {stack.port(engine)}")
    os.kill(holder.pid, signal.SIGKILL)
    return holder.pid


@asynccontextmanager
async def own_gateway(
    stack: NativeStack, name: str, folder: Path, settings: Mapping[str, str]
) -> AsyncIterator[str]:
    """A gateway beside the stack's, on its engines, Redis and PostgreSQL, with `settings`
    (INFERSTACK_*) on top; its base URL while the block runs."""
    port = free_port()
    env = {
        **stack.env("gateway"),  # INFERSTACK_WORKERS included
        "INFERSTACK_MODELS_FILE": str(folder / "models.yaml"),
        "INFERSTACK_QDRANT_PATH": "",
        "INFERSTACK_REQUEST_LOG_SPOOL_DIR": str(folder / f"{name}-spool"),
        **settings,
    }
    argv = ["api_server", "--host", "127.0.0.1", "--port", str(port)]
    async with start_server(name, argv, port, folder, env=env, timeout_s=90) as server:
        yield server.url
