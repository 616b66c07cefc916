"""Session ids: the turns of one conversation share one, other conversations do not, a
client's X-Session-ID wins; and through the app, the id reaches the request log and the
response."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from api_server.sessions import session_id_for, valid_session_header
from tests.unit.auth.fakes import ListSink


def _body(payload: Any) -> bytes:
    return orjson.dumps(payload)


# --- OpenAI chat: the history grows; the system and first user message are resent as is.
OPENAI_SYSTEM = {"role": "system", "content": "You are terse."}
OPENAI_USER = {"role": "user", "content": "What is the capital of France?"}
OPENAI_TURN_1 = {"model": "tiny", "messages": [OPENAI_SYSTEM, OPENAI_USER]}
OPENAI_TURN_3 = {
    "model": "tiny",
    "temperature": 0.2,
    "messages": [
        OPENAI_SYSTEM,
        OPENAI_USER,
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "And of Spain?"},
        {"role": "assistant", "content": "Madrid."},
        {"role": "user", "content": "And of Italy?"},
    ],
}

# --- Anthropic: the client moves its cache_control breakpoint to the newest message.
ANTHROPIC_SYSTEM = [{"type": "text", "text": "You are terse.", "cache_control": {"type": "x"}}]
ANTHROPIC_TURN_1 = {
    "model": "tiny",
    "max_tokens": 16,
    "system": ANTHROPIC_SYSTEM,
    "messages": [
        {
            "role": "user",
            "content": [{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}}],
        }
    ],
}
ANTHROPIC_TURN_3 = {
    "model": "tiny",
    "max_tokens": 16,
    "system": ANTHROPIC_SYSTEM,
    "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello."}]},
        {"role": "user", "content": "Tell me a joke"},
        {"role": "assistant", "content": "No."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "Please", "cache_control": {"type": "ephemeral"}}],
        },
    ],
}

# --- AI SDK UI messages: message ids and part states may be regenerated between turns.
AISDK_TURN_1 = {
    "id": "chat-1",
    "trigger": "submit-message",
    "messages": [{"id": "m1", "role": "user", "parts": [{"type": "text", "text": "Hi"}]}],
}
AISDK_TURN_3 = {
    "id": "chat-1",
    "trigger": "submit-message",
    "messages": [
        {"id": "m1-b", "role": "user", "parts": [{"type": "text", "text": "Hi"}]},
        {
            "id": "m2",
            "role": "assistant",
            "parts": [{"type": "step-start"}, {"type": "text", "text": "Hey", "state": "done"}],
        },
        {"id": "m3", "role": "user", "parts": [{"type": "text", "text": "More"}]},
        {"id": "m4", "role": "assistant", "parts": [{"type": "text", "text": "Ok"}]},
        {"id": "m5", "role": "user", "parts": [{"type": "text", "text": "Thanks"}]},
    ],
}


@pytest.mark.parametrize(
    ("first", "later"),
    [
        (OPENAI_TURN_1, OPENAI_TURN_3),
        (ANTHROPIC_TURN_1, ANTHROPIC_TURN_3),
        (AISDK_TURN_1, AISDK_TURN_3),
    ],
    ids=["openai", "anthropic", "aisdk"],
)
def test_turns_of_one_conversation_share_an_id(
    first: dict[str, Any], later: dict[str, Any]
) -> None:
    session = session_id_for(None, _body(first))
    assert session is not None and session.startswith("s-") and len(session) == 26
    assert session_id_for(None, _body(later)) == session


def _with(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**payload, **changes}


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (
            OPENAI_TURN_1,
            _with(OPENAI_TURN_1, messages=[OPENAI_SYSTEM, {"role": "user", "content": "Hi"}]),
        ),
        (
            OPENAI_TURN_1,
            _with(OPENAI_TURN_1, messages=[{"role": "system", "content": "x"}, OPENAI_USER]),
        ),
        (OPENAI_TURN_1, _with(OPENAI_TURN_1, messages=[OPENAI_USER])),
        (OPENAI_TURN_1, _with(OPENAI_TURN_1, model="Llama-3.1-8B-Instruct")),
        (ANTHROPIC_TURN_1, _with(ANTHROPIC_TURN_1, system="You are verbose.")),
        (ANTHROPIC_TURN_1, _with(ANTHROPIC_TURN_1, system=None)),
        (
            AISDK_TURN_1,
            _with(
                AISDK_TURN_1, messages=[{"role": "user", "parts": [{"type": "text", "text": "Yo"}]}]
            ),
        ),
    ],
    ids=[
        "first-user-message",
        "system-message",
        "no-system-message",
        "model",
        "anthropic-system",
        "anthropic-no-system",
        "aisdk-first-message",
    ],
)
def test_different_openings_are_different_sessions(
    one: dict[str, Any], other: dict[str, Any]
) -> None:
    assert session_id_for(None, _body(one)) != session_id_for(None, _body(other))


def test_string_system_and_content_equal_one_text_block() -> None:
    as_strings = _with(ANTHROPIC_TURN_1, system="S", messages=[{"role": "user", "content": "Hi"}])
    as_blocks = _with(
        ANTHROPIC_TURN_1,
        system=[{"type": "text", "text": "S"}],
        messages=[{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    )
    assert session_id_for(None, _body(as_strings)) == session_id_for(None, _body(as_blocks))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("my-session", "my-session"),
        ("  padded  ", "padded"),
        ("x" * 128, "x" * 128),
        ("x" * 129, None),
        ("", None),
        ("   ", None),
        ("tab\there", None),
        ("caf\u00e9", None),
    ],
)
def test_header_validation(header: str, expected: str | None) -> None:
    assert valid_session_header(header) == expected


def test_a_valid_header_wins_and_an_invalid_one_is_ignored() -> None:
    body = _body(OPENAI_TURN_1)
    assert session_id_for("  my-session ", body) == "my-session"
    assert session_id_for("my-session", b"not json") == "my-session"
    assert session_id_for("x" * 129, body) == session_id_for(None, body)
    assert session_id_for("", body) == session_id_for(None, body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"text"',
        b"{}",
        _body({"model": "tiny", "prompt": "Once upon a time"}),  # text completion
        _body({"model": "tiny", "input": ["embed me"]}),  # embeddings
        _body({"messages": "hi"}),
        _body({"messages": []}),
        _body({"messages": ["hi"]}),
        _body({"messages": [{"role": "assistant", "content": "no user yet"}]}),
        b'{"messages": [{"role": "user", "content": ' + b"[" * 5000 + b"]" * 5000 + b"}]}",
    ],
)
def test_requests_without_a_conversation_have_no_session(body: bytes) -> None:
    assert session_id_for(None, body) is None


@pytest.mark.parametrize("depth", [500, 1000, 1020])
def test_deep_nesting_never_raises(depth: int) -> None:
    nested = b"[" * depth + b"]" * depth
    body = b'{"messages": [{"role": "user", "content": ' + nested + b"}]}"
    session = session_id_for(None, body)  # hashed, or None past Python's recursion limit
    assert session is None or session.startswith("s-")


# --- Through the app: the record and the response carry the id.


@pytest.mark.parametrize(
    ("path", "first", "later"),
    [
        ("/v1/chat/completions", OPENAI_TURN_1, OPENAI_TURN_3),
        ("/v1/messages", ANTHROPIC_TURN_1, ANTHROPIC_TURN_3),
        ("/api/chat", AISDK_TURN_1, AISDK_TURN_3),
    ],
    ids=["openai", "anthropic", "aisdk"],
)
def test_two_turns_share_the_session_in_log_and_header(
    logged_client: TestClient,
    request_log: ListSink,
    path: str,
    first: dict[str, Any],
    later: dict[str, Any],
) -> None:
    replies = [logged_client.post(path, json=body) for body in (first, later)]
    assert [reply.status_code for reply in replies] == [200, 200]
    sessions = {reply.headers["x-session-id"] for reply in replies}
    assert len(sessions) == 1
    assert [record.session_id for record in request_log.records] == [*sessions] * 2


def test_the_client_header_wins_in_log_and_header(
    logged_client: TestClient, request_log: ListSink
) -> None:
    reply = logged_client.post(
        "/v1/chat/completions", json=OPENAI_TURN_1, headers={"X-Session-ID": "my-session"}
    )
    assert reply.status_code == 200
    assert reply.headers["x-session-id"] == "my-session"
    assert request_log.records[-1].session_id == "my-session"


def test_a_streamed_reply_carries_the_session_header(
    logged_client: TestClient, request_log: ListSink
) -> None:
    with logged_client.stream(
        "POST", "/v1/chat/completions", json={**OPENAI_TURN_1, "stream": True}
    ) as reply:
        reply.read()
    assert reply.headers["x-session-id"] == session_id_for(None, _body(OPENAI_TURN_1))
    assert request_log.records[-1].session_id == reply.headers["x-session-id"]


def test_a_text_completion_has_no_session(logged_client: TestClient, request_log: ListSink) -> None:
    reply = logged_client.post("/v1/completions", json={"model": "tiny", "prompt": "Once"})
    assert reply.status_code == 200
    assert "x-session-id" not in reply.headers
    assert request_log.records[-1].session_id is None


def test_callers_whose_conversations_open_alike_get_different_sessions() -> None:
    body = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hello"}]})
    first, second = session_id_for(None, body, "key-a"), session_id_for(None, body, "key-b")
    assert first is not None and second is not None and first != second
    assert session_id_for(None, body, "key-a") == first


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/messages"])
def test_a_failed_turn_still_names_its_session(
    logged_client: TestClient, request_log: ListSink, path: str
) -> None:
    body = {**OPENAI_TURN_1, "model": "no-such-model", "max_tokens": 5}
    reply = logged_client.post(path, json=body, headers={"X-Session-ID": "failing-session"})
    assert reply.status_code >= 400  # unknown model, or (Anthropic) a system role message
    assert reply.headers["x-session-id"] == "failing-session"
    assert request_log.records[-1].session_id == "failing-session"
