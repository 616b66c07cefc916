"""`python -m load_tests.smoke` (make smoke) against the session's gateway."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.integration.services import REPO

pytestmark = pytest.mark.integration


def smoke(gateway_url: str, model: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "load_tests.smoke", "--url", gateway_url, "--model", model]
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_the_running_stack_passes_every_smoke_check(gateway_url: str) -> None:
    run = smoke(gateway_url, "fake-echo")
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("health", "models", "chat", "stream", "error"):
        assert f"ok    {name}:" in run.stdout
    assert "PASS (0 of 5 failed)" in run.stdout


def test_a_model_the_stack_lacks_fails_the_models_check_by_name(gateway_url: str) -> None:
    run = smoke(gateway_url, "no-such-model-here")
    assert run.returncode == 1
    assert "FAIL  models: SmokeFailure: 'no-such-model-here' not listed" in run.stdout
