"""/v1/logs, /v1/logs/{id} and /v1/usage on the native stack's real PostgreSQL, with the
archive on (the session stack enables both): rows written by the request-log writer are
listed, filtered, paged and aggregated; a row comes back with its archived payload."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anthropic
import httpx
import openai
import pytest

pytestmark = pytest.mark.integration

HELLO = [{"role": "user", "content": "hello there"}]
ECHO_REQUESTS, ECHO_STREAMS = 4, 2


@dataclass(frozen=True)
class Sent:
    params: dict[str, str]  # since/until around exactly these requests
    bodies: dict[str, dict[str, Any]]  # request id (the gateway's) -> request body
    responses: dict[str, dict[str, Any]]  # request id -> non-streamed response
    streams: list[str]
    failed: str
    client_ids: dict[str, str]  # request id -> the id the client sent


def _logs(http: httpx.Client, path: str, params: dict[str, str]) -> dict[str, Any]:
    response = http.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def sent(gateway_url: str) -> Iterator[Sent]:
    """A few requests of three kinds, then their rows, waited for (the writer batches)."""
    tag = uuid.uuid4().hex[:12]
    with httpx.Client(base_url=gateway_url, timeout=60) as http:
        since = datetime.now(UTC) - timedelta(milliseconds=1)
        bodies: dict[str, dict[str, Any]] = {}
        responses: dict[str, dict[str, Any]] = {}
        streams: list[str] = []
        client_ids: dict[str, str] = {}
        for n in range(ECHO_REQUESTS + ECHO_STREAMS):
            client_id = f"{tag}-{n}"
            stream = n >= ECHO_REQUESTS
            body: dict[str, Any] = {"model": "fake-echo", "messages": HELLO, "user": tag}
            if stream:
                body |= {"stream": True, "stream_options": {"include_usage": True}}
            # Both headers a client's own id may come in (OpenAI's, and the generic one).
            header = "X-Client-Request-Id" if n % 2 else "X-Request-ID"
            reply = http.post("/v1/chat/completions", json=body, headers={header: client_id})
            assert reply.status_code == 200
            assert reply.headers["x-client-request-id"] == client_id
            request_id = reply.headers["x-request-id"]
            assert request_id != client_id  # the gateway's own, always
            client_ids[request_id] = client_id
            if stream:
                streams.append(request_id)
            else:
                responses[request_id] = reply.json()
            bodies[request_id] = body
        body = {"model": "fake-500", "messages": HELLO, "user": tag}
        reply = http.post(
            "/v1/chat/completions", json=body, headers={"X-Request-ID": f"{tag}-failed"}
        )
        assert reply.status_code == 502
        failed = reply.headers["x-request-id"]
        client_ids[failed] = f"{tag}-failed"
        bodies[failed] = body
        until = datetime.now(UTC) + timedelta(milliseconds=1)
        params = {"since": since.isoformat(), "until": until.isoformat()}
        deadline = time.monotonic() + 20
        while len(_logs(http, "/v1/logs", params)["data"]) < len(bodies):
            assert time.monotonic() < deadline, "the request-log rows never appeared"
            time.sleep(0.2)
        yield Sent(params, bodies, responses, streams, failed, client_ids)


@pytest.fixture
def http(gateway_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway_url, timeout=60) as client:
        yield client


def test_listing_is_newest_first_with_every_column(http: httpx.Client, sent: Sent) -> None:
    page = _logs(http, "/v1/logs", sent.params)
    assert (page["object"], page["has_more"], page["next_cursor"]) == ("list", False, None)
    rows = page["data"]
    assert {row["id"] for row in rows} == set(sent.bodies)
    received = [row["received_at"] for row in rows]
    assert received == sorted(received, reverse=True)
    row = next(row for row in rows if row["id"] == sent.streams[0])
    assert row["stream"] is True and row["status_code"] == 200
    assert row["model"] == "fake-echo" and row["end_user"] == sent.bodies[row["id"]]["user"]
    assert row["prompt_tokens"] > 0 and row["completion_tokens"] > 0
    assert 0 <= row["ttft_ms"] <= row["latency_ms"]
    assert row["archive_key"] == f"{row['received_at'][:10].replace('-', '/')}/{row['id']}.json"
    assert row["client_request_id"] == sent.client_ids[row["id"]]
    assert row["tenant"] is None and row["api_key_id"] is None  # auth is off here


def test_a_client_finds_its_request_by_its_own_id(http: httpx.Client, sent: Sent) -> None:
    request_id, client_id = next(iter(sent.client_ids.items()))
    rows = _logs(http, "/v1/logs", {"client_request_id": client_id})["data"]
    assert [(row["id"], row["client_request_id"]) for row in rows] == [(request_id, client_id)]


def test_a_reused_client_id_leaves_a_row_and_an_archive_per_request(http: httpx.Client) -> None:
    """The client's id was the primary key and the archive object name: a reused one
    dropped the later rows silently and overwrote the first one's payload."""
    client_id = f"reused-{uuid.uuid4().hex[:12]}"
    ids: list[str] = []
    for word in ("first", "second"):
        body = {"model": "fake-echo", "messages": [{"role": "user", "content": word}]}
        reply = http.post("/v1/chat/completions", json=body, headers={"X-Request-ID": client_id})
        assert reply.status_code == 200
        ids.append(reply.headers["x-request-id"])
    assert len(set(ids)) == 2
    deadline = time.monotonic() + 20
    while len(rows := _logs(http, "/v1/logs", {"client_request_id": client_id})["data"]) < 2:
        assert time.monotonic() < deadline, f"rows of {client_id}: {rows}"
        time.sleep(0.2)
    assert {row["id"] for row in rows} == set(ids)
    prompts = [
        _logs(http, f"/v1/logs/{request_id}", {})["payload"]["request"]["messages"][0]["content"]
        for request_id in ids
    ]
    assert prompts == ["first", "second"]


def test_an_agent_finds_its_requests_by_its_agent_id(
    http: httpx.Client, client: openai.OpenAI, gateway_url: str
) -> None:
    """X-Agent-ID through the OpenAI SDK, X-Trace-ID (its alias) through Anthropic's: both
    land in the rows' agent_id, and /v1/logs?agent_id= finds exactly those rows."""
    agent_id = f"agent-{uuid.uuid4().hex[:12]}"
    client.chat.completions.create(
        model="fake-echo", messages=HELLO, extra_headers={"X-Agent-ID": agent_id}
    )
    with anthropic.Anthropic(base_url=gateway_url, api_key="unused", max_retries=0) as claude:
        claude.messages.create(
            model="fake-echo",
            max_tokens=16,
            messages=HELLO,  # type: ignore[arg-type]
            extra_headers={"X-Trace-ID": agent_id},
        )
    deadline = time.monotonic() + 20
    while len(rows := _logs(http, "/v1/logs", {"agent_id": agent_id})["data"]) < 2:
        assert time.monotonic() < deadline, f"rows of {agent_id}: {rows}"
        time.sleep(0.2)
    assert sorted((row["api_flavour"], row["agent_id"]) for row in rows) == [
        ("anthropic", agent_id),
        ("openai", agent_id),
    ]
    assert _logs(http, "/v1/logs", {"agent_id": f"{agent_id}-other"})["data"] == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"model": "fake-echo"}, ECHO_REQUESTS + ECHO_STREAMS),
        ({"model": "fake-500"}, 1),
        ({"model": "nothing-by-this-name"}, 0),
        ({"status": "200"}, ECHO_REQUESTS + ECHO_STREAMS),
        ({"status": "5xx"}, 1),
        ({"status": "error"}, 1),
        ({"status": "4xx"}, 0),
        ({"model": "fake-echo", "status": "error"}, 0),
    ],
)
def test_filters(http: httpx.Client, sent: Sent, filters: dict[str, str], expected: int) -> None:
    rows = _logs(http, "/v1/logs", sent.params | filters)["data"]
    assert len(rows) == expected
    if filters.get("status") == "5xx":
        assert [(r["id"], r["status_code"], r["error_type"]) for r in rows] == [
            (sent.failed, 502, "engine_error")
        ]


def test_pages_follow_the_cursor_without_gaps_or_repeats(http: httpx.Client, sent: Sent) -> None:
    seen: list[str] = []
    params = sent.params | {"limit": "2"}
    while True:
        page = _logs(http, "/v1/logs", params)
        assert len(page["data"]) <= 2
        seen += [row["id"] for row in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        params = sent.params | {"limit": "2", "cursor": page["next_cursor"]}
    everything = [row["id"] for row in _logs(http, "/v1/logs", sent.params)["data"]]
    assert seen == everything and len(seen) == len(sent.bodies)


def test_a_row_comes_with_its_archived_payload(http: httpx.Client, sent: Sent) -> None:
    request_id, response = next(iter(sent.responses.items()))
    log = _logs(http, f"/v1/logs/{request_id}", {})
    assert (log["object"], log["id"], log["status_code"]) == ("request_log", request_id, 200)
    payload = log["payload"]
    assert payload["request"] == sent.bodies[request_id]
    assert payload["response"] == response


def test_a_stream_payload_is_its_assembled_text_and_usage(http: httpx.Client, sent: Sent) -> None:
    log = _logs(http, f"/v1/logs/{sent.streams[0]}", {})
    response = log["payload"]["response"]
    assert response["content"] and response["finish_reason"] in ("stop", "length")
    assert response["usage"]["completion_tokens"] == log["completion_tokens"]


def test_a_failed_request_is_archived_with_its_error(http: httpx.Client, sent: Sent) -> None:
    payload = _logs(http, f"/v1/logs/{sent.failed}", {})["payload"]
    assert payload["request"] == sent.bodies[sent.failed]
    assert payload["error"]["type"] == "engine_error"


def test_unknown_id_is_404(http: httpx.Client) -> None:
    response = http.get(f"/v1/logs/no-such-{uuid.uuid4().hex}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_usage_by_model(http: httpx.Client, sent: Sent) -> None:
    rows = _logs(http, "/v1/logs", sent.params)["data"]
    usage = _logs(http, "/v1/usage", sent.params | {"group_by": "model"})
    assert usage["group_by"] == "model"
    groups = {group["model"]: group for group in usage["data"]}
    assert set(groups) == {"fake-echo", "fake-500"}
    echo = groups["fake-echo"]
    echo_rows = [row for row in rows if row["model"] == "fake-echo"]
    assert echo["requests"] == len(echo_rows) == ECHO_REQUESTS + ECHO_STREAMS
    assert echo["prompt_tokens"] == sum(row["prompt_tokens"] for row in echo_rows)
    assert echo["completion_tokens"] == sum(row["completion_tokens"] for row in echo_rows)
    assert (echo["errors"], echo["error_rate"]) == (0, 0.0)
    latency = echo["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert max(row["latency_ms"] for row in echo_rows) >= latency["p99"] - 0.01
    assert (groups["fake-500"]["errors"], groups["fake-500"]["error_rate"]) == (1, 1.0)


def test_usage_by_day_and_key(http: httpx.Client, sent: Sent) -> None:
    days = _logs(http, "/v1/usage", sent.params | {"group_by": "day"})["data"]
    assert sum(day["requests"] for day in days) == len(sent.bodies)
    assert {day["day"] for day in days} <= {sent.params["since"][:10], sent.params["until"][:10]}
    keys = _logs(http, "/v1/usage", sent.params | {"group_by": "key"})["data"]
    assert [(k["key"], k["requests"]) for k in keys] == [(None, len(sent.bodies))]  # auth off


def test_bad_parameters_are_400_naming_the_parameter(http: httpx.Client) -> None:
    response = http.get("/v1/logs", params={"limit": "501"})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "limit"
