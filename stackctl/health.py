"""Health probes, chosen by the scheme of a service's health URL.

A new kind of service adds a probe here (e.g. `redis://` sending PING) and registers it in
PROBES; nothing else changes.
"""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from stackctl.errors import StackError


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str


# Local services only: never go through an HTTP proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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
        return Health(False, exc.strerror or str(exc))


Probe = Callable[[str, float], Health]

PROBES: dict[str, Probe] = {"http": probe_http, "https": probe_http, "tcp": probe_tcp}


def probe(url: str, timeout: float) -> Health:
    scheme = urlsplit(url).scheme
    try:
        check = PROBES[scheme]
    except KeyError:
        raise StackError(f"no health probe for {url!r} (schemes: {', '.join(PROBES)})") from None
    return check(url, timeout)
