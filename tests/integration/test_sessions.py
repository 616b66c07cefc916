"""Session ids on the native stack: the turns of one conversation, sent with the official
OpenAI SDK, land in `request_logs` under one session id, a client's X-Session-ID is kept as
given, and /v1/logs?session_id= finds a session's rows."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx
import openai
import pytest

from stackctl.api import NativeStack

pytestmark = pytest.mark.integration


async def logs_of(gateway_url: str, session: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=30) as http:
        listed = await http.get("/v1/logs", params={"session_id": session})
    assert listed.status_code == 200, listed.text
    data: list[dict[str, Any]] = listed.json()["data"]
    return data


async def rows_of(stack: NativeStack, user: str, count: int) -> list[asyncpg.Record]:
    """The rows of `user`, oldest first, once there are `count` (the writer batches)."""
    deadline = time.monotonic() + 15
    while True:
        conn = await asyncpg.connect(stack.env("gateway")["INFERSTACK_DATABASE_URL"])
        try:
            rows = await conn.fetch(
                "SELECT id, session_id FROM request_logs WHERE end_user = $1 ORDER BY received_at",
                user,
            )
        finally:
            await conn.close()
        if len(rows) >= count or time.monotonic() > deadline:
            return list(rows)
        await asyncio.sleep(0.2)


def chat_turn(
    client: openai.OpenAI, messages: list[dict[str, Any]], user: str, **extra: Any
) -> tuple[str, str | None]:
    """One turn: the assistant's reply and the response's X-Session-ID."""
    raw = client.chat.completions.with_raw_response.create(
        model="fake-echo",
        messages=messages,  # type: ignore[arg-type]
        user=user,
        max_tokens=8,
        **extra,
    )
    reply = raw.parse().choices[0].message.content or ""
    return reply, raw.headers.get("x-session-id")


async def test_the_turns_of_a_conversation_share_a_session_id(
    native_stack: NativeStack, client: openai.OpenAI, gateway_url: str
) -> None:
    user = f"session-{uuid.uuid4().hex}"
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": f"hello, I am {user}"},
    ]
    reply, first = chat_turn(client, messages, user)
    messages += [{"role": "assistant", "content": reply}, {"role": "user", "content": "again"}]
    _, second = chat_turn(client, messages, user)
    assert first is not None and first.startswith("s-")
    assert second == first

    rows = await rows_of(native_stack, user, 2)
    assert [row["session_id"] for row in rows] == [first, first]

    logs = await logs_of(gateway_url, first)
    assert {log["id"] for log in logs} == {row["id"] for row in rows}


async def test_a_session_named_by_the_client_is_kept(
    native_stack: NativeStack, client: openai.OpenAI, gateway_url: str
) -> None:
    user = f"named-{uuid.uuid4().hex}"
    session = f"my-session-{user}"
    messages = [{"role": "user", "content": "hello"}]
    _, echoed = chat_turn(client, messages, user, extra_headers={"X-Session-ID": session})
    assert echoed == session

    rows = await rows_of(native_stack, user, 1)
    assert [row["session_id"] for row in rows] == [session]
    assert [log["id"] for log in await logs_of(gateway_url, session)] == [rows[0]["id"]]
