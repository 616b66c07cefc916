"""Health probes, chosen by the scheme of a service's health URL.

A new kind of service adds a probe here and registers it in PROBES; nothing else changes.
"""

from __future__ import annotations

import socket
import struct
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from stackctl.errors import StackError


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str


# Local services only: never go through an HTTP proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _os_error(exc: OSError) -> Health:
    return Health(False, exc.strerror or str(exc) or type(exc).__name__)


def _address(parts: SplitResult, default_port: int) -> tuple[str, int]:
    if parts.hostname is None:
        raise ValueError(f"no host in {parts.geturl()!r}")
    return parts.hostname, parts.port or default_port


def probe_http(url: str, timeout: float) -> Health:
    """Healthy on a 2xx answer (llama-server answers 503 while it loads the model)."""
    try:
        with _opener.open(url, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return Health(False, f"HTTP {exc.code}")
    except (OSError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, OSError) and reason.strerror:
            return Health(False, reason.strerror)
        return Health(False, str(reason) or type(reason).__name__)
    return Health(200 <= status < 300, f"HTTP {status}")


def probe_tcp(url: str, timeout: float) -> Health:
    """Healthy when the port accepts a connection (tcp://host:port)."""
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        return Health(False, f"bad tcp URL {url!r}")
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            return Health(True, "accepting")
    except OSError as exc:
        return _os_error(exc)


def _recv_line(sock: socket.socket, limit: int = 512) -> bytes:
    data = b""
    while not data.endswith(b"\r\n") and len(data) < limit:
        chunk = sock.recv(limit - len(data))
        if not chunk:
            break
        data += chunk
    return data.strip()


def _resp_command(*args: str) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        raw = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(parts)


def probe_redis(url: str, timeout: float) -> Health:
    """Healthy when PING answers +PONG (redis://[:password@]host:port[/db]).

    While Redis loads its append-only file it answers -LOADING: not healthy yet.
    """
    parts = urlsplit(url)
    try:
        address = _address(parts, 6379)
        with socket.create_connection(address, timeout=timeout) as sock:
            sock.settimeout(timeout)
            if parts.password is not None:
                auth = [unquote(parts.password)]
                if parts.username:
                    auth.insert(0, unquote(parts.username))
                sock.sendall(_resp_command("AUTH", *auth))
                reply = _recv_line(sock)
                if not reply.startswith(b"+"):
                    return Health(False, reply.decode(errors="replace") or "no answer to AUTH")
            sock.sendall(_resp_command("PING"))
            reply = _recv_line(sock)
    except OSError as exc:
        return _os_error(exc)
    except ValueError as exc:
        return Health(False, str(exc))
    if reply == b"+PONG":
        return Health(True, "PONG")
    return Health(False, reply.decode(errors="replace") or "no answer to PING")


# SQLSTATEs with which a live server refuses sessions for now (pg_isready's "rejecting").
_PG_NOT_READY = {
    "57P03": "starting up",
    "57P01": "shutting down",
    "57P02": "shutting down",
    "53300": "too many connections",
}
_PG_PROTOCOL_3_0 = 196608


def postgres_startup_message(user: str, database: str) -> bytes:
    params = {"user": user, "database": database, "application_name": "stackctl-probe"}
    body = struct.pack("!i", _PG_PROTOCOL_3_0)
    body += b"".join(f"{key}\0{value}\0".encode() for key, value in params.items()) + b"\0"
    return struct.pack("!i", len(body) + 4) + body


def _pg_error_fields(body: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for field in body.split(b"\0"):
        if field:
            fields[chr(field[0])] = field[1:].decode(errors="replace")
    return fields


def probe_postgres(url: str, timeout: float) -> Health:
    """Healthy when the server takes a session (postgres://user@host:port/database).

    Like pg_isready: sends a startup message and reads the first answer. An authentication
    request means the server accepts sessions; the probe hangs up there, which PostgreSQL
    does not log. "Starting up" and "shutting down" errors mean not ready.
    """
    parts = urlsplit(url)
    user = unquote(parts.username or "postgres")
    database = unquote(parts.path.lstrip("/")) or user
    try:
        address = _address(parts, 5432)
        with socket.create_connection(address, timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(postgres_startup_message(user, database))
            header = sock.recv(5, socket.MSG_WAITALL)
            if len(header) < 5:
                return Health(False, "connection closed during startup")
            kind, length = header[:1], struct.unpack("!i", header[1:])[0]
            body = sock.recv(min(max(length - 4, 0), 4096), socket.MSG_WAITALL)
    except OSError as exc:
        return _os_error(exc)
    except ValueError as exc:
        return Health(False, str(exc))
    if kind == b"R":
        return Health(True, "accepting connections")
    if kind == b"E":
        fields = _pg_error_fields(body)
        code = fields.get("C", "")
        if code in _PG_NOT_READY:
            return Health(False, _PG_NOT_READY[code])
        # Any other error (unknown role, no such database) still comes from a live server.
        return Health(True, f"accepting connections ({fields.get('M', code)})")
    return Health(False, f"unexpected answer {kind!r}")


Probe = Callable[[str, float], Health]

PROBES: dict[str, Probe] = {
    "http": probe_http,
    "https": probe_http,
    "tcp": probe_tcp,
    "redis": probe_redis,
    "postgres": probe_postgres,
    "postgresql": probe_postgres,
}


def probe(url: str, timeout: float) -> Health:
    scheme = urlsplit(url).scheme
    try:
        check = PROBES[scheme]
    except KeyError:
        raise StackError(f"no health probe for {url!r} (schemes: {', '.join(PROBES)})") from None
    return check(url, timeout)
