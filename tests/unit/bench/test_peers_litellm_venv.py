"""bench.peers.litellm_venv: a finished install is reused, never redone (offline)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.peers.litellm_venv import MARKER, ensure_litellm, requirement, venv_dir


def test_requirement_pins_the_proxy_extra() -> None:
    assert requirement("1.106.2") == "litellm[proxy]==1.106.2"


def test_a_marked_venv_is_reused_without_running_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = venv_dir("9.9.9", tmp_path)
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    (venv / MARKER).touch()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("must not install")

    monkeypatch.setattr(subprocess, "run", refuse)
    assert ensure_litellm("9.9.9", tmp_path) == venv / "bin" / "python"
