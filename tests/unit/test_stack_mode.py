"""scripts/stack_mode.sh: compose when a Docker engine answers, else native; STACK_MODE wins."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _stack_mode(tmp_path: Path, docker_exit: int | None, stack_mode: str | None) -> str:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ["bash", "timeout"]:
        found = shutil.which(tool)
        assert found
        (bin_dir / tool).unlink(missing_ok=True)
        (bin_dir / tool).symlink_to(found)
    docker = bin_dir / "docker"
    docker.unlink(missing_ok=True)
    if docker_exit is not None:
        docker.write_text(f"#!/bin/sh\nexit {docker_exit}\n")
        docker.chmod(0o755)
    env = {"PATH": str(bin_dir)}
    if stack_mode is not None:
        env["STACK_MODE"] = stack_mode
    result = subprocess.run(
        [str(bin_dir / "bash"), str(ROOT / "scripts" / "stack_mode.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("docker_exit", "stack_mode", "expected"),
    [
        (0, None, "compose"),  # a Docker engine answers
        (1, None, "native"),  # only the client, no engine
        (None, None, "native"),  # no docker at all
        (1, "compose", "compose"),
        (0, "native", "native"),
    ],
)
def test_stack_mode(
    tmp_path: Path, docker_exit: int | None, stack_mode: str | None, expected: str
) -> None:
    assert _stack_mode(tmp_path, docker_exit, stack_mode) == expected
