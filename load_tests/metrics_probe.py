"""Scrapes the gateway's `/metrics` as an open-loop step's window opens and once its last
answer is in (`load_tests.open_loop.WindowProbe`), for the server's own figures of the step
(`load_tests.server_metrics`). A scrape that fails leaves the step without them, saying why:
the load test goes on."""

from __future__ import annotations

from typing import Any

import requests

from load_tests.server_metrics import METHOD, server_window
from monitor.exposition import ExpositionError

SCRAPE_TIMEOUT_S = 10.0


class MetricsProbe:
    def __init__(self, host: str, model: str) -> None:
        self.url = f"{host.rstrip('/')}/metrics"
        self.model = model
        self._opening: str | None = None
        self._error: str | None = None

    def start(self) -> None:
        self._opening, self._error = self._scrape()

    def end(self) -> dict[str, Any] | None:
        closing, error = self._scrape()
        error = self._error or error
        if error is not None or self._opening is None or closing is None:
            return {"error": error}
        try:
            return {**server_window(self._opening, closing, self.model), "method": METHOD}
        except ExpositionError as exc:
            return {"error": f"{self.url}: {exc}"}

    def _scrape(self) -> tuple[str | None, str | None]:
        try:
            response = requests.get(self.url, timeout=SCRAPE_TIMEOUT_S)
        except requests.RequestException as exc:
            return None, f"{self.url}: {exc!r}"
        if response.status_code != 200:
            return None, f"{self.url}: HTTP {response.status_code}"
        return response.text, None
