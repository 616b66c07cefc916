"""`EventRecorder`: append each finished exchange to a recording that `inferstack replay`
can re-send (see exchange_log.py for the format; credentials are never written)."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from api_server.interceptors.exchange import Exchange
from api_server.interceptors.exchange_log import RecordedExchange


class EventRecorder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None  # opened on the first exchange, not at startup

    def on_exchange_start(self, exchange: Exchange) -> None:
        """Only finished exchanges are recorded: replay needs the response too."""

    def on_exchange_end(self, exchange: Exchange) -> None:
        line = RecordedExchange.from_exchange(exchange).model_dump_json()
        file = self._open()
        file.write(line + "\n")
        file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open(self) -> IO[str]:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        return self._file
