"""The smoke check against a fake gateway (httpx.MockTransport) and a port nothing answers on."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from load_tests.smoke import main, run_checks

MODEL = "SmolLM2-135M-Instruct"


def healthy_gateway(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/health":
        return httpx.Response(200, json={"status": "ok"})
    if request.url.path == "/v1/models":
        return httpx.Response(200, json={"object": "list", "data": [{"id": MODEL}]})
    body = json.loads(request.content)
    if body["model"] != MODEL:
        error = {"message": "unknown model", "type": "invalid_request_error", "code": None}
        return httpx.Response(404, json={"error": error})
    if body["stream"]:
        chunk = json.dumps({"choices": [{"delta": {"content": "hi"}}]})
        return httpx.Response(200, text=f"data: {chunk}\n\ndata: [DONE]\n\n")
    return httpx.Response(200, json={"choices": [{"message": {"content": "hello"}}]})


def checks_against(handler: httpx.MockTransport) -> list[str]:
    with httpx.Client(base_url="http://gateway", transport=handler) as client:
        return run_checks(client, MODEL)


def test_a_healthy_gateway_passes_every_check() -> None:
    lines = checks_against(httpx.MockTransport(healthy_gateway))
    assert [line.split(":")[0] for line in lines] == [
        "ok    health", "ok    models", "ok    chat", "ok    stream", "ok    error"
    ]  # fmt: skip


def test_an_unknown_model_answered_with_a_500_fails_the_error_check_only() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        if request.content and json.loads(request.content)["model"] != MODEL:
            return httpx.Response(500, text="Internal Server Error")
        return healthy_gateway(request)

    failed = [line for line in checks_against(httpx.MockTransport(broken)) if "FAIL" in line]
    assert len(failed) == 1
    assert failed[0].startswith("FAIL  error: SmokeFailure: HTTP 500, expected 404")


def test_a_stream_without_done_fails_the_stream_check() -> None:
    def cut(request: httpx.Request) -> httpx.Response:
        response = healthy_gateway(request)
        if request.content and json.loads(request.content).get("stream"):
            return httpx.Response(200, text='data: {"choices": []}\n\n')
        return response

    failed = [line for line in checks_against(httpx.MockTransport(cut)) if "FAIL" in line]
    assert failed == ["FAIL  stream: SmokeFailure: 1 chunks, [DONE] missing"]


def test_nothing_listening_exits_1_naming_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago, now closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["--url", f"http://127.0.0.1:{port}", "--timeout", "5"]) == 1
    out = capsys.readouterr().out
    for name in ("health", "models", "chat", "stream", "error"):
        assert f"FAIL  {name}: ConnectError" in out
    assert "FAIL (5 of 5 failed)" in out
