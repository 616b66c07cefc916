"""A gateway process of a test's own beside the session's stack (another auth mode, several
workers against one Redis), and the `keys` CLI that makes its API keys."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from stackctl.api import NativeStack
from tests.integration.services import REPO, free_port, running


def gateway_env(
    stack: NativeStack, fake_engine_url: str, folder: Path, **settings: str
) -> dict[str, str]:
    """The stack's PostgreSQL and Redis, models fake-echo and fake-other on the fake engine,
    auth_mode api_key, and `settings` (INFERSTACK_* names) on top."""
    models = {
        "default_model": "fake-echo",
        "models": [
            {
                "name": name,
                "prompt_family": "chatml",
                "engine": {"kind": "llamacpp", "served_name": "fake", "urls": [fake_engine_url]},
                "context_length": 8192,
                "max_tokens": {"default": 16, "limit": 64},
            }
            for name in ("fake-echo", "fake-other")
        ],
    }
    (folder / "models.yaml").write_text(yaml.safe_dump(models))
    return {
        **stack.env("gateway"),
        "INFERSTACK_MODELS_FILE": str(folder / "models.yaml"),
        "INFERSTACK_AUTH_MODE": "api_key",
        # Local-mode Qdrant and the spool belong to one process: the stack's gateway has them.
        "INFERSTACK_QDRANT_PATH": str(folder / "qdrant"),
        "INFERSTACK_REQUEST_LOG_SPOOL_DIR": str(folder / "spool"),
        **settings,
    }


@contextmanager
def own_gateway(env: dict[str, str], log: Path, *flags: str) -> Iterator[str]:
    """The gateway's base URL while the block runs."""
    with own_gateway_process(env, log, *flags) as (url, _):
        yield url


@contextmanager
def own_gateway_process(
    env: dict[str, str], log: Path, *flags: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The gateway's base URL and its process (`serve` with `flags`) while the block runs."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "api_server", "--host", "127.0.0.1", "--port", str(port)]
    with running([*argv, *flags], f"{url}/health/live", log, timeout_s=60, env=env) as process:
        yield url, process


def keys_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "api_server", "keys", *args],
        cwd=REPO, env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return done.stdout


def create_key(env: dict[str, str], *args: str) -> tuple[str, str]:
    """(id, key) of a new key; `args` as for `keys create`."""
    fields = dict(
        line.split(":", 1) for line in keys_cli(env, "create", *args).splitlines() if ":" in line
    )
    return fields["id"].strip(), fields["key"].strip()
