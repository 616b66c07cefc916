"""Timing a chat-completion stream from its network reads."""

from __future__ import annotations

import json

import pytest

from load_tests.sse import read_chat_stream


def event(payload: object) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {text}\n\n".encode()


def delta(**fields: object) -> bytes:
    return event({"choices": [{"index": 0, "delta": fields, "finish_reason": None}]})


USAGE = event({"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 3}})
DONE = event("[DONE]")


def test_ttft_itl_and_usage() -> None:
    reads = [
        (10.100, delta(role="assistant", content="")),  # the role chunk carries no token
        (10.250, delta(content="Hel")),
        (10.270, delta(content="lo") + delta(content="!")),  # one read: a gap of 0
        (10.300, delta() + USAGE + DONE),
    ]
    result = read_chat_stream(reads, sent_at=10.0)
    assert result.ttft_ms == pytest.approx(250)
    assert result.itl_ms == pytest.approx([20, 0])
    assert result.token_chunks == 3
    assert result.completion_tokens == 3
    assert result.done
    assert result.error is None


def test_events_split_across_reads() -> None:
    whole = delta(content="a") + delta(content="b") + USAGE + DONE
    reads = [(1.0 + i / 100, whole[i : i + 7]) for i in range(0, len(whole), 7)]
    result = read_chat_stream(reads, sent_at=1.0)
    assert result.token_chunks == 2
    assert result.completion_tokens == 3
    assert result.error is None


def test_tool_call_deltas_count_as_tokens() -> None:
    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f"}}
    result = read_chat_stream([(0.5, delta(tool_calls=[call]) + USAGE + DONE)], sent_at=0.0)
    assert result.ttft_ms == pytest.approx(500)


def test_an_error_event_is_an_error() -> None:
    error = event({"error": {"message": "engine went away", "type": "server_error"}})
    result = read_chat_stream([(0.1, delta(content="a") + error + DONE)], sent_at=0.0)
    assert result.error == "error event: engine went away"
    assert result.done


def test_a_stream_cut_before_done_is_an_error() -> None:
    result = read_chat_stream([(0.1, delta(content="a"))], sent_at=0.0)
    assert result.error == "stream ended without [DONE]"


def test_malformed_data_is_an_error() -> None:
    result = read_chat_stream([(0.1, event("{not json") + DONE)], sent_at=0.0)
    assert result.error is not None
    assert result.error.startswith("malformed SSE data")


def test_the_answer_text_is_kept() -> None:
    reads = [(1.0, delta(role="assistant", content="") + delta(content="Hel")),
             (1.1, delta(content="lo") + USAGE + DONE)]  # fmt: skip
    assert read_chat_stream(reads, sent_at=0.9).text == "Hello"


def test_a_text_completion_stream_is_read_like_a_chat_stream() -> None:
    def piece(text: str) -> bytes:
        return event({"choices": [{"index": 0, "text": text, "finish_reason": None}]})

    reads = [(2.0, piece("a")), (2.5, piece(" b")), (2.6, piece("") + USAGE + DONE)]
    result = read_chat_stream(reads, sent_at=1.0)
    assert result.ttft_ms == pytest.approx(1000)
    assert result.itl_ms == pytest.approx([500])
    assert (result.text, result.token_chunks, result.completion_tokens) == ("a b", 2, 3)
