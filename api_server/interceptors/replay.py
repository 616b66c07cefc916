"""`inferstack replay`: re-send a recording (the event_recorder interceptor's JSONL) to a
gateway and report, per exchange, whether it answered as it did when recorded."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from api_server.arg_types import positive_int
from api_server.interceptors.exchange_log import RecordedExchange, RecordingError, read_recording
from api_server.interceptors.text import is_event_stream, is_json, response_text, shorten

# Not re-sent: the connection's own headers (httpx sets them for the new one), and the
# request id, so the target mints a fresh one instead of logging two requests under one id.
_NOT_RESENT = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "accept-encoding",
        "x-request-id",
    }
)

Compare = Literal["status", "body"]


@dataclass(frozen=True)
class ReplayResult:
    recorded: RecordedExchange
    status: int | None = None
    latency_ms: float = 0.0
    diff: str | None = None  # why it does not match; None when it does
    error: str | None = None  # the request failed (no status)

    @property
    def ok(self) -> bool:
        return self.error is None and self.diff is None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        recorded = list(read_recording(args.recording))
    except (OSError, RecordingError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    if not recorded:
        print(f"replay: {args.recording} holds no exchanges")
        return 0
    started = time.perf_counter()
    results = asyncio.run(
        replay(
            recorded,
            args.target,
            concurrency=args.concurrency,
            api_key=args.api_key,
            compare=args.compare,
            timing=args.timing,
            timeout_s=args.timeout,
        )
    )
    failed = sum(not result.ok for result in results)
    errors = sum(result.error is not None for result in results)
    print(
        f"{len(results)} exchanges replayed against {args.target} in "
        f"{time.perf_counter() - started:.1f} s: {len(results) - failed} OK, "
        f"{failed - errors} DIFF, {errors} failed"
    )
    return 0 if failed == 0 else 1


async def replay(
    recorded: Sequence[RecordedExchange],
    target: str,
    *,
    concurrency: int = 1,
    api_key: str | None = None,
    compare: Compare = "status",
    timing: Literal["original", "fast"] = "fast",
    timeout_s: float = 120.0,
    print_results: bool = True,
) -> list[ReplayResult]:
    """Send every recorded request, at most `concurrency` at once; with `timing="original"`
    each starts no earlier than it did relative to the first. Results in recording order."""
    gate = asyncio.Semaphore(concurrency)
    first = recorded[0].time
    start = time.monotonic()
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=target, timeout=timeout_s, limits=limits) as client:

        async def one(index: int, exchange: RecordedExchange) -> ReplayResult:
            if timing == "original":
                due = start + (exchange.time - first).total_seconds()
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            async with gate:
                result = await _resend(client, exchange, api_key, compare)
            if print_results:
                print(_result_line(index, len(recorded), result), flush=True)
            return result

        return list(await asyncio.gather(*(one(i, e) for i, e in enumerate(recorded, 1))))


async def _resend(
    client: httpx.AsyncClient,
    exchange: RecordedExchange,
    api_key: str | None,
    compare: Compare,
) -> ReplayResult:
    if exchange.request_truncated:
        # Its body was cut to the recorder's cap: re-sent, it would only be a broken request.
        return ReplayResult(exchange, error="request body truncated in the recording: not sent")
    headers = [(k, v) for k, v in exchange.request_headers if k.lower() not in _NOT_RESENT]
    if api_key is not None:  # recordings never hold credentials
        headers += [("authorization", f"Bearer {api_key}"), ("x-api-key", api_key)]
    url = exchange.path + (f"?{exchange.query}" if exchange.query else "")
    started = time.perf_counter()
    try:
        request = client.build_request(
            exchange.method, url, headers=headers, content=exchange.request_bytes()
        )
        response = await client.send(request, stream=True)
        try:
            body = await response.aread()  # a stream is read to its end
        finally:
            await response.aclose()
    except httpx.HTTPError as exc:
        return ReplayResult(exchange, error=f"{type(exc).__name__}: {exc}")
    latency_ms = (time.perf_counter() - started) * 1000
    return ReplayResult(
        exchange,
        status=response.status_code,
        latency_ms=latency_ms,
        diff=_difference(exchange, response, body, compare),
    )


def _difference(
    exchange: RecordedExchange, response: httpx.Response, body: bytes, compare: Compare
) -> str | None:
    if response.status_code != exchange.status:
        return "status"
    if compare == "status" or exchange.response_truncated:
        return None
    recorded_type = exchange.response_header("content-type")
    if is_event_stream(recorded_type) or not is_json(recorded_type):
        return None  # only whole JSON bodies are compared, by their text (ids, times vary)
    was = response_text(recorded_type, exchange.response_bytes())
    now = response_text(response.headers.get("content-type"), body)
    if was != now:
        return f"text {shorten(was, 40)!r} → {shorten(now, 40)!r}"
    return None


def _result_line(index: int, total: int, result: ReplayResult) -> str:
    exchange = result.recorded
    target = exchange.path + (f"?{exchange.query}" if exchange.query else "")
    if result.error is not None:
        verdict, outcome = "FAIL", f"{exchange.status} → ({result.error})"
    else:
        verdict = "OK" if result.ok else "DIFF"
        outcome = f"{exchange.status} → {result.status}  {result.latency_ms:.0f} ms"
        if result.diff and result.diff != "status":
            outcome += f"  {result.diff}"
    return f"[{index}/{total}] {verdict:<4} {exchange.method} {target}  {outcome}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inferstack replay",
        description="Re-send the requests of a recording (written by the event_recorder "
        "interceptor) to a gateway, and check it answers as it did then. One line per "
        "exchange (recorded status → new status, latency, OK/DIFF), then a summary. "
        "Exit status: 0 when every exchange matched, 1 when one did not, 2 when the "
        "recording cannot be read.",
        epilog="Recordings hold no credentials (authorization, x-api-key and cookies are "
        "never written): pass --api-key for a gateway that asks for one. Example: "
        "inferstack replay .state/recordings/recording.jsonl --target http://127.0.0.1:8000 "
        "--compare body",
    )
    parser.add_argument("recording", type=Path, help="the recording (JSONL) to re-send")
    parser.add_argument(
        "--target", required=True, help="base URL of the gateway, e.g. http://127.0.0.1:8000"
    )
    parser.add_argument(
        "--concurrency",
        type=positive_int,
        default=1,
        help="requests in flight at once (default 1: one after another, in recorded order)",
    )
    parser.add_argument(
        "--api-key", help="sent as 'Authorization: Bearer KEY' and 'x-api-key: KEY'"
    )
    parser.add_argument(
        "--compare",
        choices=["status", "body"],
        default="status",
        help="status (default): an exchange matches when its status does; body: also the "
        "text of each non-streaming JSON response (OpenAI or Anthropic; ids and "
        "timestamps are not compared)",
    )
    parser.add_argument(
        "--timing",
        choices=["original", "fast"],
        default="fast",
        help="fast (default): send as soon as --concurrency allows; original: keep the "
        "recorded gaps between request starts",
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds per request (default 120)"
    )
    return parser
