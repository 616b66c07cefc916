"""Command line: `inferstack serve` (also `python -m api_server`) and `inferstack keys`."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from api_server.app import create_app
from api_server.config import Settings
from api_server.log_format import configure_logging


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["keys"]:
        from api_server.auth.cli import main as keys_main

        sys.exit(keys_main(argv[1:]))
    parser = argparse.ArgumentParser(
        prog="inferstack",
        description="Serve the inferstack gateway. Settings come from INFERSTACK_* variables, "
        ".env and configs/gateway.yaml; the flags below override them. "
        "API keys: `inferstack keys --help`.",
    )
    parser.add_argument("command", nargs="?", default="serve", choices=["serve"])
    parser.add_argument("--host", help="address to listen on (default from settings: 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port to listen on (default 8000)")
    parser.add_argument("--models-file", help="model registry YAML (default configs/models.yaml)")
    args = parser.parse_args(argv)

    overrides = {
        key: value
        for key, value in {
            "host": args.host,
            "port": args.port,
            "models_file": args.models_file,
        }.items()
        if value is not None
    }
    settings = Settings(**overrides)
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
    )
