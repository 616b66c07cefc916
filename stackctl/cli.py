"""`python -m stackctl`: command-line entry point."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from stackctl import commands
from stackctl.errors import StackError
from stackctl.stack import DEFAULT_CONFIG, open_stack

DESCRIPTION = """\
Run the native inferstack stack (PostgreSQL, Redis, llama-server engine, gateway; with
--profile vllm / max the vLLM and MAX Serve engines, with --profile replicas a second
llama-server) under supervisord.
Services, ports and health checks come from configs/stack.yaml; logs, the generated
supervisord.conf and sockets live in the state folder (.state/, or $INFERSTACK_STATE_DIR).
"""

EPILOG = """\
environment:
  INFERSTACK_STATE_DIR         state folder (default: state_dir in the config, .state)
  LLAMA_SERVER_BIN             llama-server to run (default: scripts/build_llama_server.sh)
  STACKCTL_<SERVICE>_<VAR>     override a service var, e.g. STACKCTL_ENGINE_PARALLEL=8,
                               STACKCTL_POSTGRES_PASSWORD=...
  STACKCTL_<SERVICE>_PORT      move a service to another port, e.g. STACKCTL_REDIS_PORT=6380
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stackctl",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help="stack definition (default: configs/stack.yaml)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    start = sub.add_parser(
        "start", help="start every service in dependency order and wait until healthy"
    )
    sub.add_parser("stop", help="stop every service and supervisord, leaving no process behind")
    restart = sub.add_parser("restart", help="stop, then start (applies config changes)")
    for command in (start, restart):
        command.add_argument(
            "--profile",
            dest="profiles",
            action="append",
            default=[],
            metavar="NAME",
            help="also run the optional services of this profile (vllm, max, replicas; see "
            "configs/stack.yaml); repeat it, or give several as 'vllm,max'",
        )
    sub.add_parser("status", help="show each service's state, pid, port and health")
    logs = sub.add_parser("logs", help="follow service logs (tail -F)")
    logs.add_argument(
        "service", nargs="?", help="one service, or `supervisord` (default: all services)"
    )
    return parser


def _profiles(values: Sequence[str]) -> list[str]:
    """--profile vllm --profile max, or --profile 'vllm,max' / 'vllm max' (make's ENGINE=);
    `cpu`, llama.cpp alone, adds nothing."""
    names = [name for value in values for name in value.replace(",", " ").split()]
    return list(dict.fromkeys(names))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        stack = open_stack(args.config, profiles=_profiles(getattr(args, "profiles", [])))
        match args.command:
            case "start":
                return commands.start(stack)
            case "stop":
                return commands.stop(stack)
            case "restart":
                return commands.restart(stack)
            case "status":
                return commands.status(stack)
            case "logs":
                return commands.logs(stack, args.service)
        raise AssertionError(args.command)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 141
    except KeyboardInterrupt:
        print("\ninterrupted; `python -m stackctl status` shows what is running", file=sys.stderr)
        return 130
