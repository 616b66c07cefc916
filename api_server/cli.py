"""Command line: `inferstack [serve]` (also `python -m api_server`), `inferstack run` (a
pass-through proxy for one hosted upstream), `inferstack replay` and `inferstack keys`."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from pathlib import Path
from typing import Any

import uvicorn
import yaml
from pydantic import ValidationError

from api_server.app import create_app
from api_server.arg_types import positive_int
from api_server.config import Settings
from api_server.workers import configure_gateway_logging, serve_workers

_COMMANDS = ("serve", "run", "replay", "keys")
# Hosted APIs take large requests (images, long documents); the gateway's own default is 4 MiB.
_PROXY_MAX_BODY_BYTES = 32 * 1024 * 1024
_DESCRIPTION = """\
inferstack: an OpenAI- and Anthropic-compatible gateway.

commands:
  serve    the gateway over the models in configs/models.yaml (the default command)
  run      a pass-through proxy for one hosted OpenAI-style or Anthropic upstream
  replay   re-send a recording made by the event_recorder interceptor
  keys     create, list and revoke API keys; hash one for static_api_keys

`inferstack COMMAND --help` documents each command's flags."""


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and argv[0] in _COMMANDS else None
    if command == "keys":
        from api_server.auth.cli import main as keys_main

        sys.exit(keys_main(argv[1:]))
    if command == "replay":
        from api_server.interceptors.replay import main as replay_main

        sys.exit(replay_main(argv[1:]))
    if command == "run":
        _serve(_run_settings(argv[1:]))
        return
    if argv[:1] in (["-h"], ["--help"]):
        print(_DESCRIPTION)
        print()
    _serve(_serve_settings(argv[1:] if command == "serve" else argv))


def _serve_settings(argv: list[str]) -> Settings:
    parser = argparse.ArgumentParser(
        prog="inferstack serve",
        description="Serve the gateway. Settings come from INFERSTACK_* variables, .env and "
        "configs/gateway.yaml (or the file in INFERSTACK_CONFIG_FILE); these flags override them.",
    )
    parser.add_argument("--host", help="address to listen on (default from settings: 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8000)")
    parser.add_argument("--models-file", help="model registry YAML (default configs/models.yaml)")
    _add_workers_flag(parser)
    args = parser.parse_args(argv)
    given = _given(
        host=args.host, port=args.port, models_file=args.models_file, workers=args.workers
    )
    try:
        return Settings(**given)
    except ValidationError as exc:  # a flag at odds with the settings: a usage error
        parser.error(_problems(exc))


def _add_workers_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=positive_int,
        help="gateway processes on the one port (default from settings: INFERSTACK_WORKERS, "
        "1); they share rate limits and caches through Redis and add up in /metrics",
    )


def _run_settings(argv: list[str]) -> Settings:
    parser = argparse.ArgumentParser(
        prog="inferstack run",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Run the gateway as a pure pass-through proxy for one hosted upstream: every model name goes
there unchanged, but an Anthropic client's, which anthropic_model_map may map and which an
OpenAI-style upstream gets spelled as its /models lists it. Clients of the upstream's own API
are relayed byte for byte; clients of the other API (OpenAI <-> Anthropic) and AI SDK front
ends (/api/chat) are translated. Requests are retried before their first byte on 429
(Retry-After up to a cap), 502/503/504 and connection errors. Interceptors watch every
exchange without slowing it.

Precedence: these flags > the --config file > INFERSTACK_* variables and .env > defaults
(a request body may be 32 MiB unless max_body_bytes says otherwise, and no whole-request
timeout applies unless request_timeout_s sets one).
The config file is gateway settings (see configs/gateway.yaml) plus an `upstream:` block:

  upstream:
    base_url: https://api.openai.com/v1   # OpenAI-style: with /v1; Anthropic: without
    type: openai                           # openai | anthropic
    auth: {style: env, api_key_env: OPENAI_API_KEY}   # header | env | both
    retry: {max_attempts: 3, base_delay_s: 0.5, max_delay_s: 8, retry_after_cap_s: 30}
    timeout_s: 600
  port: 8080
  anthropic_model_map:                     # Claude names (glob, first match) -> upstream models
    "claude-*haiku*": gpt-4o-mini
    "claude-*": gpt-4o                     # default: {"claude-*": default}, the name unchanged
  interceptors:
    - {type: printer}
    - {type: message_logger, path: logs/messages.jsonl, max_bytes: 10485760, backup_count: 5}
    - {type: event_recorder, path: recordings/run.jsonl}

examples:
  inferstack run --base-url http://127.0.0.1:9200/v1 --type openai --port 8080 --printer
  inferstack run --base-url https://api.anthropic.com --type anthropic \\
      --auth env --api-key-env ANTHROPIC_API_KEY --record recordings/claude.jsonl
  inferstack run --config proxy.yaml --port 9000""",
    )
    parser.add_argument("--base-url", help="the upstream's base URL")
    parser.add_argument("--type", choices=["openai", "anthropic"], help="the upstream's API")
    parser.add_argument("--config", help="YAML file of settings and an `upstream:` block")
    parser.add_argument(
        "--host",
        help="address to listen on (default 127.0.0.1); with --auth env or both, another "
        "address needs the gateway's own auth (INFERSTACK_AUTH_MODE)",
    )
    parser.add_argument("--port", type=int, help="port to listen on (default 8000)")
    parser.add_argument(
        "--auth",
        choices=["header", "env", "both"],
        help="the key the upstream gets: header = the client's own (default), env = ours "
        "from --api-key-env, both = the client's if it sent one, else ours",
    )
    parser.add_argument("--api-key-env", help="environment variable holding our upstream key")
    parser.add_argument(
        "--timeout", type=float, help="seconds to wait for each upstream read (default 600)"
    )
    parser.add_argument("--retries", type=int, help="attempts per request, first included (3)")
    parser.add_argument("--printer", action="store_true", help="print every exchange")
    parser.add_argument("--record", metavar="PATH", help="record exchanges for `replay`")
    parser.add_argument("--log-messages", metavar="PATH", help="log exchanges as rotated JSONL")
    _add_workers_flag(parser)
    args = parser.parse_args(argv)

    # The file's values go in as init values, so they win over INFERSTACK_* as the help says;
    # no configs/gateway.yaml is read otherwise (the proxy is not the full stack).
    os.environ["INFERSTACK_CONFIG_FILE"] = os.devnull
    values = _config_file(parser, args.config)
    upstream = _given(
        base_url=args.base_url,
        type=args.type,
        timeout_s=args.timeout,
        auth=_given(style=args.auth, api_key_env=args.api_key_env) or None,
        retry=_given(max_attempts=args.retries) or None,
    )
    if upstream:
        file_upstream = values.get("upstream") or {}
        values["upstream"] = _merged(
            file_upstream if isinstance(file_upstream, dict) else {}, upstream
        )
    values.update(_given(host=args.host, port=args.port, workers=args.workers))
    if "max_body_bytes" not in values and "INFERSTACK_MAX_BODY_BYTES" not in os.environ:
        values["max_body_bytes"] = _PROXY_MAX_BODY_BYTES
    if "request_timeout_s" not in values and "INFERSTACK_REQUEST_TIMEOUT_S" not in os.environ:
        # A hosted model may think for minutes: the upstream's timeout_s (each read) governs.
        values["request_timeout_s"] = None
    flagged: list[dict[str, Any]] = []
    if args.printer:
        flagged.append({"type": "printer"})
    if args.record:
        flagged.append({"type": "event_recorder", "path": args.record})
    if args.log_messages:
        flagged.append({"type": "message_logger", "path": args.log_messages})
    if flagged:  # added to the file's; one printer is enough
        listed = list(values.get("interceptors") or [])
        has_printer = any(isinstance(i, dict) and i.get("type") == "printer" for i in listed)
        values["interceptors"] = listed + [
            entry for entry in flagged if not (entry["type"] == "printer" and has_printer)
        ]
    try:
        settings = Settings(**values)
    except ValidationError as exc:  # e.g. --base-url without --type: a usage error
        parser.error(_validation_message(exc))
    if settings.upstream is None:
        parser.error("give --base-url and --type, or a --config file with an upstream: block")
    if open_relay(settings):
        parser.error(
            f"--auth {settings.upstream.auth.style} on {settings.host} would let anyone who "
            "reaches it spend our upstream key: listen on 127.0.0.1, or turn on the "
            "gateway's auth (INFERSTACK_AUTH_MODE=api_key or jwt)"
        )
    return settings


def open_relay(settings: Settings) -> bool:
    """A proxy that pays with our key (auth style env or both), open to other machines and
    asking nobody for credentials."""
    upstream = settings.upstream
    return (
        upstream is not None
        and upstream.auth.style != "header"
        and settings.auth_mode == "none"
        and not is_loopback(settings.host)
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def _config_file(parser: argparse.ArgumentParser, path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        parser.error(f"--config {path}: {exc.strerror or exc}")
    except yaml.YAMLError as exc:
        parser.error(f"--config {path}: not valid YAML ({exc})")
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        parser.error(f"--config {path}: expected a mapping of settings")
    return loaded


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` over `base`, nested mappings merged key by key (a flag for one upstream
    field keeps the file's others)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def _validation_message(error: ValidationError) -> str:
    return _problems(error) + " (give --base-url and --type, or a --config file with them)"


def _problems(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'settings'}: {item['msg']}"
        for item in error.errors()
    )


def _given(**values: Any) -> dict[str, Any]:
    """The flags that were given, so that the rest fall through to the other sources."""
    return {key: value for key, value in values.items() if value is not None}


def _serve(settings: Settings) -> None:
    configure_gateway_logging(settings)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level,
        "access_log": False,
        "loop": "uvloop",
        "http": "httptools",
        "timeout_graceful_shutdown": 10,
    }
    if settings.workers > 1:
        serve_workers(settings, **options)
    else:
        uvicorn.run(create_app(settings), **options)
