"""Read the gateway over HTTP: `/metrics` (required) and `/health/ready` (best effort)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from monitor.exposition import ExpositionError, Snapshot, parse_exposition
from monitor.health import Readiness, parse_readiness


class ScrapeError(Exception):
    """/metrics could not be fetched or read; the message says why, for the error panel."""


@dataclass(frozen=True)
class Scrape:
    snapshot: Snapshot
    readiness: Readiness | None
    health_error: str | None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


class GatewayScraper:
    def __init__(
        self, url: str, timeout_s: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.clock = clock
        # No proxy: the gateway is usually on localhost, and http_proxy must not reroute it.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _get(self, path: str) -> tuple[int, bytes]:
        try:
            with self._opener.open(self.url + path, timeout=self.timeout_s) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as exc:  # /health/ready answers 503 with its JSON
            return exc.code, exc.read()

    def scrape(self) -> Scrape:
        try:
            status, body = self._get("/metrics")
            taken = self.clock()
        except (OSError, ValueError) as exc:
            raise ScrapeError(_describe(exc)) from exc
        if status != 200:
            raise ScrapeError(f"GET /metrics answered HTTP {status}")
        try:
            snapshot = parse_exposition(body.decode("utf-8", errors="replace"), taken)
        except ExpositionError as exc:
            raise ScrapeError(str(exc)) from exc
        try:
            _, health_body = self._get("/health/ready")
            return Scrape(snapshot, parse_readiness(json.loads(health_body)), None)
        except (OSError, ValueError) as exc:
            return Scrape(snapshot, None, f"/health/ready: {_describe(exc)}")
