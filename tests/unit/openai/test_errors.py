"""Every failure reaches the client in OpenAI's error envelope with the right status."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.unit.scripted_engine import Scripted, ScriptedEngine

CHAT = "/v1/chat/completions"
HELLO = [{"role": "user", "content": "hi"}]


def assert_envelope(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    return error


def test_malformed_json_is_400(client: TestClient) -> None:
    response = client.post(CHAT, content=b"{not json", headers={"content-type": "application/json"})
    error = assert_envelope(response, 400)
    assert "JSON" in error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "tiny", "messages": "hello"}, "messages"),
        ({"model": "tiny", "messages": HELLO, "temperature": "hot"}, "temperature"),
        ({"model": "tiny", "messages": HELLO, "max_tokens": 0}, "max_tokens"),
        ({"model": "tiny", "messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({"messages": HELLO}, "model"),
        ({"model": "tiny", "messages": []}, "messages"),
    ],
)
def test_wrong_types_are_400_naming_the_field(
    client: TestClient, body: dict[str, Any], param: str
) -> None:
    error = assert_envelope(client.post(CHAT, json=body), 400)
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"


def test_body_must_be_an_object(client: TestClient) -> None:
    assert_envelope(client.post(CHAT, json=[1, 2]), 400)
    assert_envelope(
        client.post(CHAT, content=b"", headers={"content-type": "application/json"}), 400
    )


def test_unknown_model_is_404_listing_models(client: TestClient) -> None:
    error = assert_envelope(
        client.post(CHAT, json={"model": "gpt-7", "messages": HELLO}), 404, "model_not_found"
    )
    assert "tiny-chatml" in error["message"]
    assert error["param"] == "model"


@pytest.mark.parametrize("n", [0, 17, -1])
def test_n_outside_1_to_16_is_400(client: TestClient, n: int) -> None:
    error = assert_envelope(
        client.post(CHAT, json={"model": "tiny", "messages": HELLO, "n": n}), 400
    )
    assert error["param"] == "n"


@pytest.mark.parametrize(
    ("stop", "param"),
    [(["a", "b", "c", "d", "e"], "stop"), ("x" * 257, "stop[0]"), (["END", "x" * 257], "stop[1]")],
)
def test_stop_is_bounded_in_number_and_length(
    client: TestClient, engine: ScriptedEngine, stop: str | list[str], param: str
) -> None:
    body = {"model": "tiny", "messages": HELLO, "stop": stop}
    assert assert_envelope(client.post(CHAT, json=body), 400)["param"] == param
    assert engine.requests == []


def test_max_tokens_over_the_model_limit_is_400(client: TestClient) -> None:
    body = {"model": "tiny", "messages": HELLO, "max_tokens": 65}
    assert assert_envelope(client.post(CHAT, json=body), 400)["param"] == "max_tokens"


def test_images_for_a_text_model_are_400(client: TestClient) -> None:
    content = [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
    body = {"model": "tiny", "messages": [{"role": "user", "content": content}]}
    assert "image_url" in assert_envelope(client.post(CHAT, json=body), 400)["message"]


def test_oversized_body_is_413(client: TestClient) -> None:
    body = {"model": "tiny", "messages": [{"role": "user", "content": "x" * 70_000}]}
    assert_envelope(client.post(CHAT, json=body), 413)


def test_unknown_route_is_404_in_envelope(client: TestClient) -> None:
    assert_envelope(client.get("/v1/nothing"), 404)


def test_context_overflow_from_engine_is_400_context_length_exceeded(
    client: TestClient, engine: ScriptedEngine
) -> None:
    engine.script = Scripted(
        400,
        [
            b'{"error": {"code": 400, "message": "the request exceeds the available context size",'
            b' "type": "exceed_context_size_error"}}'
        ],
    )
    body = {"model": "tiny", "messages": HELLO}
    assert_envelope(client.post(CHAT, json=body), 400, "context_length_exceeded")


def test_engine_down_is_503_naming_the_engine(client: TestClient) -> None:
    for stream in (False, True):
        body = {"model": "engine-down", "messages": HELLO, "stream": stream}
        error = assert_envelope(client.post(CHAT, json=body), 503, "engine_unavailable")
        assert "llamacpp#0" in error["message"]  # the replica's label, not its address
        assert "127.0.0.1" not in error["message"]


def test_engine_timeout_is_504(client: TestClient, engine: ScriptedEngine) -> None:
    engine.script = Scripted(200, [], delay_s=1.5)  # tiny-chatml has timeout_s: 1
    assert_envelope(client.post(CHAT, json={"model": "tiny", "messages": HELLO}), 504)


def test_engine_429_passes_retry_after(client: TestClient, engine: ScriptedEngine) -> None:
    engine.script = Scripted(429, [b'{"error": {"message": "queue full"}}'], {"Retry-After": "3"})
    response = client.post(CHAT, json={"model": "tiny", "messages": HELLO})
    assert_envelope(response, 429)
    assert response.headers["retry-after"] == "3"


def test_engine_500_is_502(client: TestClient, engine: ScriptedEngine) -> None:
    engine.script = Scripted(500, [b"boom"])
    assert_envelope(client.post(CHAT, json={"model": "tiny", "messages": HELLO}), 502)


def test_engine_garbage_is_502(client: TestClient, engine: ScriptedEngine) -> None:
    engine.script = Scripted(200, [b"data: {not json\n\n"])
    assert_envelope(client.post(CHAT, json={"model": "tiny", "messages": HELLO}), 502)


def _stream_events(client: TestClient) -> list[str]:
    body = {"model": "tiny", "messages": HELLO, "stream": True}
    with client.stream("POST", CHAT, json=body) as response:
        assert response.status_code == 200
        return [line for line in response.iter_lines() if line.startswith("data:")]


def test_midstream_failure_ends_the_stream_with_an_error_event(
    client: TestClient, engine: ScriptedEngine
) -> None:
    engine.script = Scripted(
        200,
        [
            b'data: {"choices": [{"index": 0, "text": "Hel", "finish_reason": null}]}\n\n',
            b'data: {"error": {"message": "slot crashed"}}\n\n',
        ],
    )
    events = _stream_events(client)
    assert '"role":"assistant"' in events[0]
    assert '"Hel"' in events[1]
    assert '"error"' in events[-2] and "slot crashed" in events[-2]
    assert events[-1] == "data: [DONE]"


def test_dropped_engine_connection_ends_the_stream_with_an_error_event(
    client: TestClient, engine: ScriptedEngine
) -> None:
    engine.script = Scripted(
        200,
        [b'data: {"choices": [{"index": 0, "text": "Hel", "finish_reason": null}]}\n\n'],
        drop_after_chunks=True,
    )
    events = _stream_events(client)
    assert '"Hel"' in events[1]
    assert '"error"' in events[-2]
    assert events[-1] == "data: [DONE]"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"response_format": {"type": "xml"}}, "response_format.type"),
        ({"response_format": "json"}, "response_format"),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}},
            "response_format.json_schema.name",
        ),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"name": "a b"}}},
            "response_format.json_schema.name",
        ),
        (
            {"response_format": {"type": "json_schema"}},
            "response_format.json_schema",
        ),
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": {"$ref": "https://evil.example/s"}},
                }
            },
            "response_format.json_schema.schema",
        ),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"messages": [{"role": "tool", "content": "42"}]}, "messages[0].tool_call_id"),
    ],
)
def test_options_that_cannot_be_honoured_are_refused(
    client: TestClient, extra: dict[str, Any], param: str
) -> None:
    body = {"model": "tiny", "messages": HELLO, **extra}
    assert assert_envelope(client.post(CHAT, json=body), 400)["param"] == param


def test_plain_text_response_format_is_fine(client: TestClient) -> None:
    body = {"model": "tiny", "messages": HELLO, "response_format": {"type": "text"}}
    assert client.post(CHAT, json=body).status_code == 200


def test_conversation_the_format_cannot_express_is_400(client: TestClient) -> None:
    """Llama 3.1's template allows one tool call per assistant turn."""
    calls = [
        {"id": f"call_{i}", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        for i in range(2)
    ]
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_0", "content": "1"},
    ]
    for stream in (False, True):
        body = {"model": "Llama-3.1-8B-Instruct", "messages": messages, "stream": stream}
        error = assert_envelope(client.post(CHAT, json=body), 400)
        assert error["param"] == "messages"


def test_deeply_nested_tool_arguments_are_400(client: TestClient) -> None:
    deep = "[" * 3000 + "]" * 3000
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": deep}}
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "1"},
    ]
    assert_envelope(client.post(CHAT, json={"model": "tiny", "messages": messages}), 400)


def test_seed_beyond_64_bits_is_400(client: TestClient) -> None:
    body = {"model": "tiny", "messages": HELLO, "seed": 2**64}
    assert assert_envelope(client.post(CHAT, json=body), 400)["param"] == "seed"


@pytest.mark.parametrize(
    "chunk",
    [
        b"data: 5",
        b"data: [1]",
        b'data: {"choices": [5]}',
        b'data: {"choices": [{"text": 5}]}',
        b'data: {"choices": [], "usage": {"prompt_tokens": "x"}}',
    ],
)
def test_engine_chunks_of_the_wrong_shape_are_502(
    client: TestClient, engine: ScriptedEngine, chunk: bytes
) -> None:
    good = b'data: {"choices": [{"index": 0, "text": "Hi", "finish_reason": null}]}\n\n'
    engine.script = Scripted(200, [good, chunk + b"\n\n", b"data: [DONE]\n\n"])
    assert_envelope(client.post(CHAT, json={"model": "tiny", "messages": HELLO}), 502)
    events = _stream_events(client)
    assert '"Hi"' in events[1]
    assert '"error"' in events[-2]
    assert events[-1] == "data: [DONE]"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"logprobs": 21}, "logprobs"),
        ({"suffix": "x"}, "suffix"),
        ({"best_of": 1, "n": 2}, "best_of"),
        ({"best_of": 3, "stream": True}, "best_of"),
        ({"best_of": 17}, "best_of"),
        ({"prompt": ["a"] * 9, "n": 2}, "n"),
        ({"prompt": []}, "prompt"),
        ({"echo": True, "logprobs": 1}, "echo"),
    ],
)
def test_completion_options_that_cannot_be_honoured_are_refused(
    client: TestClient, extra: dict[str, Any], param: str
) -> None:
    body = {"model": "tiny", "prompt": "x", **extra}
    error = assert_envelope(client.post("/v1/completions", json=body), 400)
    assert error["param"] == param


def test_405_keeps_allow_header(client: TestClient) -> None:
    response = client.get(CHAT)
    assert_envelope(response, 405)
    assert response.headers["allow"] == "POST"
