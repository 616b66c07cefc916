"""Request logs on the real PostgreSQL of the native stack: one row per request with what
happened, and none lost or duplicated when PostgreSQL stops in the middle of a run. Rows are
found by the id each request was sent with (`client_request_id`): the row's id is ours."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import asyncpg
import httpx
import openai
import pytest

from stackctl.api import NativeStack

pytestmark = pytest.mark.integration

HELLO = [{"role": "user", "content": "hello there"}]


def database_url(stack: NativeStack) -> str:
    return stack.env("gateway")["INFERSTACK_DATABASE_URL"]


async def rows_for(stack: NativeStack, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url(stack))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def wait_for_rows(
    stack: NativeStack, user: str, count: int, timeout_s: float
) -> list[asyncpg.Record]:
    """The rows of `user` once there are `count` (the writer flushes every 200 ms)."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = await rows_for(stack, "SELECT * FROM request_logs WHERE end_user = $1", user)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.2)


def metric(http: httpx.Client, name: str) -> float:
    total = 0.0
    for line in http.get("/metrics").text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_each_request_leaves_one_row_with_its_tokens_status_and_timings(
    native_stack: NativeStack, client: openai.OpenAI
) -> None:
    user = f"rows-{uuid.uuid4().hex}"
    expected: dict[str, dict[str, Any]] = {}
    for n in range(6):
        request_id = f"{user}-{n}"
        headers = {"X-Request-ID": request_id}
        if n % 2:
            chunks = list(
                client.chat.completions.create(
                    model="fake-echo",
                    messages=HELLO,  # type: ignore[arg-type]
                    user=user,
                    stream=True,
                    stream_options={"include_usage": True},
                    extra_headers=headers,
                )
            )
            usage = chunks[-1].usage
            stream = True
        else:
            response = client.chat.completions.create(
                model="fake-echo",
                messages=HELLO,  # type: ignore[arg-type]
                user=user,
                extra_headers=headers,
            )
            usage = response.usage
            stream = False
        assert usage is not None
        expected[request_id] = {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "stream": stream,
        }
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(
            model="fake-500",
            messages=HELLO,  # type: ignore[arg-type]
            user=user,
            extra_headers={"X-Request-ID": f"{user}-error"},
        )

    found = await wait_for_rows(native_stack, user, 7, timeout_s=15)
    # Keyed by the id each request was sent with: the row's own id is the gateway's.
    rows = {row["client_request_id"]: row for row in found}
    assert set(rows) == {*expected, f"{user}-error"}
    assert len({row["id"] for row in found}) == 7
    assert all(re.fullmatch(r"[0-9a-f]{32}", row["id"]) for row in found)
    for request_id, want in expected.items():
        row = rows[request_id]
        assert row["status_code"] == 200
        assert row["model"] == "fake-echo"
        assert row["endpoint"] == "/v1/chat/completions"
        assert row["api_flavour"] == "openai"
        assert row["error_type"] is None
        assert row["prompt_tokens"] == want["prompt_tokens"] > 0
        assert row["completion_tokens"] == want["completion_tokens"] > 0
        assert row["stream"] is want["stream"]
        assert row["engine"] == "llamacpp"
        assert row["replica"].startswith("http://127.0.0.1:")
        assert row["client_addr"] is not None
        assert 0 < row["ttft_ms"] <= row["latency_ms"] < 10_000
        assert row["received_at"] <= row["first_token_at"] <= row["finished_at"]
        took = (row["finished_at"] - row["received_at"]).total_seconds() * 1000
        assert took == pytest.approx(row["latency_ms"], abs=1.0)
    error = rows[f"{user}-error"]
    assert error["status_code"] == failed.value.status_code >= 500
    assert error["error_type"] is not None
    assert error["completion_tokens"] is None


async def test_stopping_postgres_mid_run_loses_and_duplicates_nothing(
    native_stack: NativeStack, http: httpx.Client
) -> None:
    """2,000 requests, 32 in flight; PostgreSQL is stopped after the first few hundred and
    started again later: afterwards exactly 2,000 rows, one per request id."""
    total, in_flight = 2000, 32
    user = f"outage-{uuid.uuid4().hex}"
    spooled_before = metric(http, "inferstack_request_log_rows_spooled_total")
    ids = [f"{user}-{n}" for n in range(total)]
    done = 0
    body = {"model": "fake-echo", "messages": HELLO, "user": user, "max_tokens": 8}
    gateway = str(http.base_url)

    async def send(worker: int, session: httpx.AsyncClient) -> None:
        nonlocal done
        for request_id in ids[worker::in_flight]:
            response = await session.post(
                "/v1/chat/completions", json=body, headers={"X-Client-Request-Id": request_id}
            )
            assert response.status_code == 200, response.text
            assert response.headers["x-client-request-id"] == request_id
            done += 1

    async def outage() -> None:
        while done < 300:  # noqa: ASYNC110 (a count the senders keep)
            await asyncio.sleep(0.01)
        await asyncio.to_thread(native_stack.stop_service, "postgres")
        # Some 700 requests while it is down (fewer if the run ends first).
        until = min(done + 700, total)
        while done < until:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await asyncio.to_thread(native_stack.start_service, "postgres")

    limits = httpx.Limits(max_connections=in_flight)
    async with httpx.AsyncClient(base_url=gateway, timeout=30, limits=limits) as session:
        await asyncio.gather(outage(), *(send(worker, session) for worker in range(in_flight)))
    assert done == total

    rows = await wait_for_rows(native_stack, user, total, timeout_s=60)
    assert len(rows) == total
    assert sorted(row["client_request_id"] for row in rows) == sorted(ids)
    assert len({row["id"] for row in rows}) == total
    assert all(row["status_code"] == 200 for row in rows)
    assert metric(http, "inferstack_request_log_rows_spooled_total") > spooled_before
    assert metric(http, "inferstack_request_log_rows_dropped_total") == 0
    assert metric(http, "inferstack_request_log_spool_bytes") == 0
