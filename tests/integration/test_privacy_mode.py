"""privacy_mode on the real stack: the same requests that leave their answers in Redis, the
payload archive and the log row on a gateway without it leave none there with it.

Each gateway is our own (archive and cache on, its own folders) on the session's Redis and
PostgreSQL; it is stopped before anything is read, so every background write has landed
(the request-log writer, the archive and the cache store all flush on shutdown)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import anthropic
import asyncpg
import openai
import pytest
import redis
from openai.types.chat import ChatCompletionMessageParam

from api_server.cache.exact_key import KEY_PREFIX
from stackctl.api import NativeStack
from tests.integration.own_gateway import gateway_env, own_gateway

pytestmark = pytest.mark.integration


def _send_requests(url: str, marker: str) -> list[str]:
    """A deterministic chat twice (a cache would store and then serve it), a stream, and an
    Anthropic message, all quoting `marker` and naming an end user; their request ids."""
    with (
        openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0) as client,
        anthropic.Anthropic(base_url=url, api_key="unused", max_retries=0) as claude,
    ):
        return _send_each(client, claude, marker)


def _send_each(client: openai.OpenAI, claude: anthropic.Anthropic, marker: str) -> list[str]:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": f"repeat {marker}"}]
    ids = []
    for _ in range(2):
        reply = client.chat.completions.with_raw_response.create(
            model="fake-echo", messages=messages, temperature=0, user=f"user-{marker}"
        )
        ids.append(reply.headers["x-request-id"])
    with client.chat.completions.with_streaming_response.create(
        model="fake-echo", messages=messages, stream=True, user=f"user-{marker}"
    ) as stream:
        assert "[DONE]" in stream.read().decode()
        ids.append(stream.headers["x-request-id"])
    message = claude.messages.with_raw_response.create(
        model="fake-echo",
        max_tokens=16,
        messages=[{"role": "user", "content": f"repeat {marker}"}],
        metadata={"user_id": f"user-{marker}"},
    )
    ids.append(message.headers["x-request-id"])
    return ids


def _cache_keys(stack: NativeStack) -> set[bytes]:
    """The exact cache's keys in the session's Redis (a cached answer is the engine's text;
    its key a hash of the request)."""
    client = redis.Redis.from_url(stack.env("gateway")["INFERSTACK_REDIS_URL"])
    try:
        return set(client.scan_iter(match=f"{KEY_PREFIX}*", count=1000))
    finally:
        client.close()


async def _rows(stack: NativeStack, ids: list[str]) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(stack.env("gateway")["INFERSTACK_DATABASE_URL"])
    try:
        query = "SELECT * FROM request_logs WHERE id = ANY($1::text[]) ORDER BY received_at"
        return list(await conn.fetch(query, ids))
    finally:
        await conn.close()


def _archived_files_quoting(folder: Path, marker: str) -> list[Path]:
    return [
        path
        for path in folder.rglob("*")
        if path.is_file() and marker.encode() in path.read_bytes()
    ]


@pytest.mark.parametrize("private", [False, True], ids=["control", "privacy_mode"])
def test_privacy_mode_keeps_no_content_anywhere(
    native_stack: NativeStack,
    fake_engine_url: str,
    tmp_path: Path,
    private: bool,
) -> None:
    marker = uuid.uuid4().hex
    env = gateway_env(
        native_stack,
        fake_engine_url,
        tmp_path,
        INFERSTACK_AUTH_MODE="none",
        INFERSTACK_CACHE_ENABLED="true",
        INFERSTACK_ARCHIVE_ENABLED="true",
        INFERSTACK_OBJECT_STORE_PATH=str(tmp_path / "objects"),
        INFERSTACK_PRIVACY_MODE=str(private).lower(),
    )
    log = tmp_path / "gateway.log"
    cached_before = _cache_keys(native_stack)
    with own_gateway(env, log) as url:
        ids = _send_requests(url, marker)

    rows = asyncio.run(_rows(native_stack, ids))
    assert [row["id"] for row in rows] == ids
    assert all(row["status_code"] == 200 and row["completion_tokens"] for row in rows)
    new_cache_keys = _cache_keys(native_stack) - cached_before
    archived = _archived_files_quoting(tmp_path / "objects", marker)
    kept_in_rows = [
        (row["session_id"], row["end_user"], row["archive_key"])
        for row in rows
        if row["session_id"] or row["end_user"] or row["archive_key"]
    ]
    if not private:
        # The control shows each place does keep content, so the checks below can fail.
        assert new_cache_keys and len(archived) == len(ids) and len(kept_in_rows) == len(ids)
        return
    assert (new_cache_keys, archived, kept_in_rows) == (set(), [], [])
    assert not (tmp_path / "qdrant").exists() or not _archived_files_quoting(
        tmp_path / "qdrant", marker
    )
    assert marker not in log.read_text()
    assert "privacy_mode: no request content is kept" in log.read_text()
