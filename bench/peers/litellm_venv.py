"""LiteLLM's proxy in a throwaway venv of its own, pinned, outside the repo, reused once a
marker says the install finished (its dependencies would clash with ours)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LITELLM_VERSION = "1.106.2"
CACHE_DIR = Path.home() / ".cache" / "inferstack" / "peers"
MARKER = "installed.ok"


def venv_dir(version: str = LITELLM_VERSION, cache_dir: Path = CACHE_DIR) -> Path:
    return cache_dir / f"litellm-{version}"


def requirement(version: str = LITELLM_VERSION) -> str:
    return f"litellm[proxy]=={version}"


def ensure_litellm(version: str = LITELLM_VERSION, cache_dir: Path = CACHE_DIR) -> Path:
    """The venv's python, installing ``litellm[proxy]==version`` first unless already done."""
    venv = venv_dir(version, cache_dir)
    python = venv / "bin" / "python"
    if (venv / MARKER).exists() and python.exists():
        return python
    print(f"installing {requirement(version)} into {venv} (log: {venv}/install.log)", flush=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    with (venv / "install.log").open("wb") as log:
        install = [str(python), "-m", "pip", "install", requirement(version)]
        if subprocess.run(install, stdout=log, stderr=subprocess.STDOUT).returncode != 0:
            raise SystemExit(f"installing LiteLLM failed; see {venv}/install.log")
    (venv / MARKER).write_text(requirement(version) + "\n")
    return python
