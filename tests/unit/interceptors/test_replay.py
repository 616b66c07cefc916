"""`inferstack replay`: record exchanges through the middleware, re-send them to the same
tiny app served by uvicorn, then to one that answers differently."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from api_server.interceptors import InterceptorChain, InterceptorMiddleware
from api_server.interceptors.event_recorder import EventRecorder
from api_server.interceptors.exchange_log import read_recording
from api_server.interceptors.replay import main
from tests.unit.interceptors.conftest import Answers, tiny_app

CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "capital of France?"}]}


@pytest.fixture
def answers() -> Answers:
    return Answers()


@pytest.fixture
def target(answers: Answers) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        tiny_app(answers), host="127.0.0.1", port=port, log_level="error", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "recording.jsonl"
    asyncio.run(_record(path))
    return path


async def _record(path: Path) -> None:
    chain = InterceptorChain([EventRecorder(path)])
    chain.start()
    transport = httpx.ASGITransport(InterceptorMiddleware(tiny_app(), chain))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        headers = {"Authorization": "Bearer sk-secret"}
        await client.post("/v1/chat/completions", json=CHAT, headers=headers)
        await client.post("/v1/chat/completions", json={**CHAT, "stream": True})
    await asyncio.to_thread(chain.close, 5)


def test_recording_holds_both_exchanges(recording: Path) -> None:
    exchanges = list(read_recording(recording))
    assert [e.status for e in exchanges] == [200, 200]
    assert "sk-secret" not in recording.read_text()


def test_a_matching_target_exits_0(
    recording: Path, target: str, answers: Answers, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [str(recording), "--target", target, "--compare", "body", "--api-key", "k"]
    assert main(argv) == 0
    for headers in answers.headers:
        assert (headers["authorization"], headers["x-api-key"]) == ("Bearer k", "k")
        assert headers["content-type"] == "application/json"
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("[1/2] OK   POST /v1/chat/completions  200 → 200")
    assert out[1].startswith("[2/2] OK")
    assert "2 OK, 0 DIFF, 0 failed" in out[2]


def test_a_different_answer_is_a_diff_with_compare_body_only(
    recording: Path, target: str, answers: Answers, capsys: pytest.CaptureFixture[str]
) -> None:
    answers.text = "Lyon."
    argv = [str(recording), "--target", target, "--concurrency", "2", "--timing", "original"]
    assert main(argv) == 0  # statuses still match
    assert main([*argv, "--compare", "body"]) == 1
    assert "DIFF POST /v1/chat/completions  200 → 200" in capsys.readouterr().out


def test_a_different_status_exits_1(
    recording: Path, target: str, answers: Answers, capsys: pytest.CaptureFixture[str]
) -> None:
    answers.status = 503
    assert main([str(recording), "--target", target]) == 1
    assert "200 → 503" in capsys.readouterr().out


def test_an_unreachable_target_fails(recording: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(recording), "--target", "http://127.0.0.1:9", "--timeout", "2"]) == 1
    assert "0 OK, 0 DIFF, 2 failed" in capsys.readouterr().out


def test_an_unreadable_recording_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"not": "an exchange"}\n')
    assert main([str(bad), "--target", "http://x"]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.jsonl"), "--target", "http://x"]) == 2


def test_a_request_cut_to_the_recorders_cap_is_not_resent(
    tmp_path: Path, target: str, answers: Answers, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "recording.jsonl"

    async def record() -> None:
        chain = InterceptorChain([EventRecorder(path, max_body_bytes=20)])
        chain.start()
        transport = httpx.ASGITransport(InterceptorMiddleware(tiny_app(), chain))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.post("/v1/chat/completions", json=CHAT)
        await asyncio.to_thread(chain.close, 5)

    asyncio.run(record())
    assert main([str(path), "--target", target]) == 1
    assert answers.headers == []  # never reached the target
    assert "request body truncated" in capsys.readouterr().out
