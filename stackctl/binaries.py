"""Locate the llama-server binary: $LLAMA_SERVER_BIN, else the cached build."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from stackctl.errors import StackError

LLAMA_SERVER_ENV = "LLAMA_SERVER_BIN"


def llama_server_path(root: Path, environ: Mapping[str, str] = os.environ) -> str:
    """The binary path. Without the env override this runs scripts/build_llama_server.sh,
    which prints the cached path at once, or builds it first (one time, ~12 minutes)."""
    configured = environ.get(LLAMA_SERVER_ENV)
    if configured:
        if not os.access(configured, os.X_OK):
            raise StackError(f"{LLAMA_SERVER_ENV}={configured} is not an executable file")
        return configured
    script = root / "scripts" / "build_llama_server.sh"
    result = subprocess.run(
        [str(script)],
        stdout=subprocess.PIPE,
        text=True,
        env={**environ, "PYTHON": environ.get("PYTHON", sys.executable)},
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise StackError(
            f"{script} failed (exit {result.returncode}); run `make engine` to see why, "
            f"or set {LLAMA_SERVER_ENV} to an existing llama-server"
        )
    return lines[-1]
