"""Agent ids: a client's X-Agent-ID (or X-Trace-ID) is sanitized as X-Session-ID is, and
through the app it reaches the request-log record and the row the writer inserts."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_server.agent_ids import agent_id_for
from api_server.logs.pg_store import COLUMNS, as_row
from tests.unit.auth.fakes import ListSink

OPENAI_CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}]}
ANTHROPIC_MESSAGES = {**OPENAI_CHAT, "max_tokens": 5}


@pytest.mark.parametrize(
    ("header", "alias", "expected"),
    [
        ("run-42", None, "run-42"),
        ("  run-42 ", None, "run-42"),
        (None, "trace-1", "trace-1"),
        ("run-42", "trace-1", "run-42"),  # the primary name wins
        ("x" * 129, "trace-1", "trace-1"),  # an unusable primary falls back to the alias
        ("x" * 128, None, "x" * 128),
        ("x" * 129, None, None),
        ("", None, None),
        ("   ", None, None),
        ("run\t42", None, None),
        ("run-é", None, None),
        ("run\x00", None, None),
        (None, None, None),
    ],
)
def test_agent_id_for(header: str | None, alias: str | None, expected: str | None) -> None:
    assert agent_id_for(header, alias) == expected


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", OPENAI_CHAT),
        ("/v1/messages", ANTHROPIC_MESSAGES),
        ("/api/chat", OPENAI_CHAT),
        ("/v1/completions", {"model": "tiny", "prompt": "Once"}),
    ],
    ids=["openai", "anthropic", "aisdk", "completions"],
)
def test_the_header_reaches_the_log_record(
    logged_client: TestClient, request_log: ListSink, path: str, body: dict[str, Any]
) -> None:
    reply = logged_client.post(path, json=body, headers={"X-Agent-ID": "run-42"})
    assert reply.status_code == 200
    record = request_log.records[-1]
    assert record.agent_id == "run-42"
    assert as_row(record)[COLUMNS.index("agent_id")] == "run-42"  # what the writer inserts


def test_the_alias_reaches_the_log_record(logged_client: TestClient, request_log: ListSink) -> None:
    reply = logged_client.post(
        "/v1/chat/completions", json=OPENAI_CHAT, headers={"X-Trace-ID": "t-1"}
    )
    assert reply.status_code == 200
    assert request_log.records[-1].agent_id == "t-1"


@pytest.mark.parametrize("bad", ["x" * 129, "run\t42", "   "])
def test_an_unusable_header_is_dropped_not_refused(
    logged_client: TestClient, request_log: ListSink, bad: str
) -> None:
    reply = logged_client.post(
        "/v1/chat/completions", json=OPENAI_CHAT, headers={"X-Agent-ID": bad}
    )
    assert reply.status_code == 200
    assert request_log.records[-1].agent_id is None


def test_no_header_no_agent_id(logged_client: TestClient, request_log: ListSink) -> None:
    assert logged_client.post("/v1/chat/completions", json=OPENAI_CHAT).status_code == 200
    assert request_log.records[-1].agent_id is None


def test_a_failed_request_still_names_its_agent(
    logged_client: TestClient, request_log: ListSink
) -> None:
    body = {**OPENAI_CHAT, "model": "no-such-model"}
    reply = logged_client.post("/v1/chat/completions", json=body, headers={"X-Agent-ID": "run-42"})
    assert reply.status_code == 404
    assert request_log.records[-1].agent_id == "run-42"
