"""`Printer`: follow the gateway's traffic on the console, one line per request and one per
response, e.g.

    → POST /v1/chat/completions model=tiny stream "What is the capital of France?"
    ← 200 POST /v1/chat/completions 412 ms 9 events "The capital of France is Paris."
"""

from __future__ import annotations

import sys
from typing import Literal, TextIO

from api_server.interceptors.exchange import Exchange
from api_server.interceptors.text import (
    is_event_stream,
    response_text,
    response_tool_names,
    shorten,
    sse_data,
    summarize_request,
)

_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_COLORS = {2: "\x1b[32m", 3: "\x1b[36m", 4: "\x1b[33m", 5: "\x1b[31m"}  # by status class


class Printer:
    def __init__(
        self,
        stream: Literal["stdout", "stderr"] = "stderr",
        color: bool | None = None,
        file: TextIO | None = None,
    ) -> None:
        self._stream = stream
        self._color = color
        self._file = file  # tests; otherwise sys.stdout/stderr as they are at print time

    def on_exchange_start(self, exchange: Exchange) -> None:
        summary = summarize_request(exchange.request_body)
        fields = [exchange.method, _target(exchange)]
        if summary.model:
            fields.append(f"model={summary.model}")
        if summary.stream:
            fields.append("stream")
        if summary.last_user_text:
            fields.append(_quote(summary.last_user_text))
        self._print(self._paint("→", _DIM) + " " + " ".join(fields))

    def on_exchange_end(self, exchange: Exchange) -> None:
        status = exchange.status or 0
        content_type = exchange.response_header("content-type")
        body = exchange.response_body
        fields = [
            self._paint(str(status), _COLORS.get(status // 100, "")),
            exchange.method,
            _target(exchange),
            f"{exchange.latency_ms or 0:.0f} ms",
        ]
        if is_event_stream(content_type):
            fields.append(f"{len(sse_data(body))} events")
        if text := response_text(content_type, body):
            fields.append(_quote(text))
        if tools := response_tool_names(content_type, body):
            fields.append("tools: " + ", ".join(tools))
        if exchange.response_truncated:
            fields.append("(truncated)")
        if exchange.error:
            fields.append(f"({exchange.error})")
        self._print(self._paint("←", _DIM) + " " + " ".join(fields))

    def close(self) -> None:
        """Nothing to release: the console is not ours."""

    def _print(self, line: str) -> None:
        file = self._output()
        file.write(line + "\n")
        file.flush()

    def _output(self) -> TextIO:
        if self._file is not None:
            return self._file
        return sys.stdout if self._stream == "stdout" else sys.stderr

    def _paint(self, text: str, code: str) -> str:
        color = self._color if self._color is not None else self._output().isatty()
        return f"{code}{text}{_RESET}" if color and code else text


def _target(exchange: Exchange) -> str:
    return f"{exchange.path}?{exchange.query}" if exchange.query else exchange.path


def _quote(text: str) -> str:
    return '"' + shorten(text).replace('"', '\\"') + '"'
