"""Where the stack keeps its runtime files: one state folder, .state/ by default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

STATE_DIR_ENV = "INFERSTACK_STATE_DIR"
# The repository: relative paths in configs/stack.yaml are taken from here.
REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class StatePaths:
    state_dir: Path

    @property
    def conf(self) -> Path:
        return self.state_dir / "supervisord.conf"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def socket(self) -> Path:
        return self.run_dir / "supervisor.sock"

    @property
    def pidfile(self) -> Path:
        return self.run_dir / "supervisord.pid"

    @property
    def supervisord_log(self) -> Path:
        return self.logs_dir / "supervisord.log"

    def service_log(self, service: str) -> Path:
        return self.logs_dir / f"{service}.log"


def state_paths(root: Path, configured: str, environ: Mapping[str, str] = os.environ) -> StatePaths:
    """The env override wins over the config; relative paths are taken from the repo root."""
    state_dir = Path(environ.get(STATE_DIR_ENV) or configured)
    return StatePaths((root / state_dir).resolve())
