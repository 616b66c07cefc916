"""Secrets the native stack makes for itself, kept in the state folder (owner-only files).

Redis gets a password generated on first start: the gateway reads it from its environment
(`INFERSTACK_REDIS_URL`), redis-server from a config file, so it is never on a command line
(`ps` shows those to every user of the machine).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)  # also when the file was there with looser bits


def stack_secret(state_dir: Path, name: str) -> str:
    """The secret `name`, made once (URL-safe: it goes into URLs) and then reused."""
    path = state_dir / "secrets" / name
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    value = secrets.token_urlsafe(32)
    write_private(path, value + "\n")
    return value


def redis_auth_conf(state_dir: Path, password: str) -> str:
    """A redis-server config file (its first argument) that sets the password."""
    path = state_dir / "secrets" / "redis.conf"
    write_private(path, f"requirepass {password}\n")
    return str(path)


def redacted(url: str) -> str:
    """The URL with its password, if any, shown as ***: for messages to the terminal."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
