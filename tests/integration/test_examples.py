"""Every program in examples/ run as a user runs it, a subprocess against the session's
gateway: the real SmolLM2 where the answer matters, fake models where only the shape does
(fake-echo answers at once, fake-hermes always calls get_weather, fake-429 is always busy)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.services import REPO, free_port

pytestmark = pytest.mark.integration

EXAMPLES = REPO / "examples"
OPENAI_EXAMPLES = ["chat_example", "streaming_example", "tool_calling", "batch_processing"]
ALL_EXAMPLES = [*OPENAI_EXAMPLES, "anthropic_example"]
CAPITAL = "What is the capital of France?"


def run_example(
    name: str, *args: str, stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(EXAMPLES / f"{name}.py"), *args]
    return subprocess.run(
        argv, cwd=REPO, input=stdin, capture_output=True, text=True, timeout=timeout
    )


def assert_prompts_answered_in_order(
    result: subprocess.CompletedProcess[str], output: Path
) -> None:
    """The batch example ran: its results file holds the fake engine's answer to each
    prompt of examples/data/prompts.jsonl, in the prompts' order, none failed."""
    assert result.returncode == 0, result.stderr
    inputs = [
        json.loads(line) for line in (EXAMPLES / "data" / "prompts.jsonl").read_text().splitlines()
    ]
    results = [json.loads(line) for line in output.read_text().splitlines()]
    assert [r["id"] for r in results] == [i["id"] for i in inputs]
    assert all(r["response"] == "Hello from the fake engine." for r in results)
    assert f"requests:   {len(inputs)} (0 failed, 0 retries)" in result.stdout


@pytest.fixture
def openai_url(gateway_url: str) -> str:
    return f"{gateway_url}/v1"


@pytest.fixture
def messages_api(gateway_url: str) -> str:
    """The gateway's URL for the anthropic SDK, once it serves the Messages API."""
    answer = httpx.post(f"{gateway_url}/v1/messages", json={}, timeout=10)
    if answer.status_code == 404:
        pytest.skip("the gateway does not serve POST /v1/messages (the Anthropic API) yet")
    return gateway_url


def last_prompt(fake_engine: httpx.Client) -> str:
    prompt = fake_engine.get("/_last_request").json()["prompt"]
    assert isinstance(prompt, str)
    return prompt


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_help_names_the_connection_options(name: str) -> None:
    result = run_example(name, "--help")
    assert result.returncode == 0, result.stderr
    assert "--base-url" in result.stdout
    assert "--model" in result.stdout


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_stack_down_gives_a_clear_message(name: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    base_url = url if name == "anthropic_example" else f"{url}/v1"
    result = run_example(name, "--base-url", base_url, stdin="hello\n")
    assert result.returncode != 0
    assert f"inferstack is not reachable at {base_url} — run `make start`" in result.stderr
    assert "Traceback" not in result.stderr


def test_chat_once_answers_with_the_real_model(openai_url: str) -> None:
    result = run_example(
        "chat_example", "--base-url", openai_url, "--temperature", "0", "--max-tokens", "24",
        "--once", CAPITAL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout


def test_chat_reads_turns_from_stdin(openai_url: str) -> None:
    result = run_example(
        "chat_example", "--base-url", openai_url, "--temperature", "0", "--max-tokens", "24",
        stdin=f"{CAPITAL}\n/reset\n/exit\nnever sent\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"you> {CAPITAL}" in result.stdout
    assert "Paris" in result.stdout
    assert "(conversation forgotten)" in result.stdout
    assert "never sent" not in result.stdout


@pytest.mark.parametrize(
    ("turns", "sent", "forgotten"),
    [
        ("alpha\nbeta\n", ["You are terse.", "alpha", "Hello from the fake engine.", "beta"], []),
        ("alpha\n/reset\nbeta\n", ["You are terse.", "beta"], ["alpha"]),
    ],
)
def test_chat_sends_the_history_until_reset(
    openai_url: str, fake_engine: httpx.Client, turns: str, sent: list[str], forgotten: list[str]
) -> None:
    result = run_example(
        "chat_example", "--base-url", openai_url, "--model", "fake-echo",
        "--system", "You are terse.", stdin=turns,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    prompt = last_prompt(fake_engine)
    positions = [prompt.index(text) for text in sent]
    assert positions == sorted(positions)
    assert not [text for text in forgotten if text in prompt]


def test_streaming_reports_ttft_speed_and_usage(openai_url: str) -> None:
    result = run_example(
        "streaming_example", CAPITAL, "--base-url", openai_url, "--temperature", "0",
        "--max-tokens", "16",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout
    assert "time to first token:" in result.stdout
    assert "tokens/s:" in result.stdout
    assert "prompt +" in result.stdout
    assert "completion =" in result.stdout


def tool_lines(stdout: str, prefix: str) -> list[dict[str, object]]:
    return [
        json.loads(line.removeprefix(prefix))
        for line in stdout.splitlines()
        if line.startswith(prefix)
    ]


def test_tool_loop_runs_the_calls_and_sends_results_back(openai_url: str) -> None:
    # fake-hermes calls get_weather(city="Paris", unit="celsius") on every turn.
    result = run_example(
        "tool_calling", "--base-url", openai_url, "--model", "fake-hermes", "--max-rounds", "2"
    )
    assert result.returncode == 0, result.stderr
    calls = tool_lines(result.stdout, "-> the model calls: ")
    replies = tool_lines(result.stdout, "<- we send back:    ")
    assert len(calls) == len(replies) == 2
    for call, reply in zip(calls, replies, strict=True):
        assert call["type"] == "function"
        assert call["function"] == {
            "name": "get_weather",
            "arguments": '{"city": "Paris", "unit": "celsius"}',
        }
        assert reply["role"] == "tool"
        assert reply["tool_call_id"] == call["id"]
        assert isinstance(reply["content"], str)
        assert json.loads(reply["content"])["temperature"] == 18
    assert "still calling tools after 2 rounds" in result.stdout


def test_forced_tool_makes_the_small_model_call_it(openai_url: str) -> None:
    result = run_example(
        "tool_calling", "--base-url", openai_url, "--force-tool", "get_weather",
        "--temperature", "0", "--max-tokens", "32",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [call] = tool_lines(result.stdout, "-> the model calls: ")
    [reply] = tool_lines(result.stdout, "<- we send back:    ")
    assert call["function"]["name"] == "get_weather"  # type: ignore[index]
    assert reply["tool_call_id"] == call["id"]
    assert "answer:" in result.stdout


def test_batch_writes_results_in_input_order(openai_url: str, tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    result = run_example(
        "batch_processing", "--base-url", openai_url, "--model", "fake-echo",
        "--output", str(output), "--concurrency", "4",
    )  # fmt: skip
    assert_prompts_answered_in_order(result, output)
    for label in ("wall time:", "req/s", "tokens/s", "P50", "P95", "P99"):
        assert label in result.stdout


def test_batch_retries_a_busy_engine_after_retry_after(openai_url: str, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"id": "a", "prompt": "one"}\n{"id": "b", "prompt": "two"}\n')
    output = tmp_path / "results.jsonl"
    started = time.monotonic()
    result = run_example(
        "batch_processing", str(prompts), "--base-url", openai_url, "--model", "fake-429",
        "--output", str(output), "--max-attempts", "2",
    )  # fmt: skip
    assert time.monotonic() - started >= 2  # the engine's Retry-After: 2
    assert result.returncode == 1
    results = [json.loads(line) for line in output.read_text().splitlines()]
    assert [(r["id"], r["attempts"]) for r in results] == [("a", 2), ("b", 2)]
    assert all("error" in r for r in results)
    assert "requests:   2 (2 failed, 2 retries)" in result.stdout


def test_anthropic_chat_once_answers(messages_api: str) -> None:
    result = run_example(
        "anthropic_example", "--base-url", messages_api, "--temperature", "0",
        "--max-tokens", "24", "--once", CAPITAL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout


def test_anthropic_chat_keeps_history_and_system_prompt(
    messages_api: str, fake_engine: httpx.Client
) -> None:
    result = run_example(
        "anthropic_example", "--base-url", messages_api, "--model", "fake-echo",
        "--system", "You are terse.", stdin="alpha\n/reset\nbeta\ngamma\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Hello from the fake engine.") == 3
    assert "(conversation forgotten)" in result.stdout
    prompt = last_prompt(fake_engine)
    sent = ["You are terse.", "beta", "Hello from the fake engine.", "gamma"]
    positions = [prompt.index(text) for text in sent]
    assert positions == sorted(positions)
    assert "alpha" not in prompt
