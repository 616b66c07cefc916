"""`inferstack run`: the gateway as a pass-through proxy for one upstream (the fake
provider here), with the printer and the event recorder on; the recording replays."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest

from api_server.fakes.upstream import FAKE_MODEL_IDS
from tests.integration.services import REPO, free_port, running


def proxy_argv(base_url: str, port: int, *flags: str) -> list[str]:
    inferstack = [sys.executable, "-c", "from api_server.cli import main; main()"]
    return [
        *inferstack,
        "run",
        "--base-url",
        base_url,
        "--type",
        "openai",
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        *flags,
    ]


@pytest.fixture(scope="module")
def proxy(
    upstream_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, Path]]:
    """The proxy's URL, its console log and its recording."""
    folder = tmp_path_factory.mktemp("proxy")
    recording, log = folder / "recording.jsonl", folder / "proxy.log"
    port = free_port()
    argv = proxy_argv(f"{upstream_url}/v1", port, "--printer", "--record", str(recording))
    with running(argv, f"http://127.0.0.1:{port}/health", log, timeout_s=60):
        yield f"http://127.0.0.1:{port}", log, recording


def test_proxy_relays_prints_records_and_the_recording_replays(
    proxy: tuple[str, Path, Path], upstream_url: str, tmp_path: Path
) -> None:
    url, log, recording = proxy
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-client-key", max_retries=0)
    reply = client.chat.completions.create(
        model="any-upstream-model", messages=[{"role": "user", "content": "hello proxy"}]
    )
    assert (reply.id, reply.model) == ("chatcmpl-fake", "any-upstream-model")
    assert [model.id for model in client.models.list()] == list(FAKE_MODEL_IDS)  # the upstream's
    assert reply.choices[0].message.content == "Echo: hello proxy"
    stream = client.chat.completions.create(
        model="any-upstream-model",
        messages=[{"role": "user", "content": "stream this"}],
        stream=True,
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == (
        "Echo: stream this"
    )
    # An Anthropic client reaches the OpenAI-style upstream through the translation.
    message = anthropic.Anthropic(
        base_url=url, api_key="sk-client-key", max_retries=0
    ).messages.create(
        model="claude-anything", max_tokens=20, messages=[{"role": "user", "content": "cross"}]
    )
    assert message.content[0].text == "Echo: cross"  # type: ignore[union-attr]

    lines = [json.loads(line) for line in _wait_for_lines(recording, 4)]
    assert [line["path"] for line in lines] == [
        "/v1/chat/completions",
        "/v1/models",
        "/v1/chat/completions",
        "/v1/messages",
    ]
    assert "sk-client-key" not in recording.read_text()  # credentials are never recorded
    printed = log.read_text()
    assert '"hello proxy"' in printed and '"Echo: hello proxy"' in printed
    assert '"Echo: stream this"' in printed

    replay = subprocess.run(
        [
            sys.executable,
            "-c",
            "from api_server.cli import main; main()",
            "replay",
            str(recording),
            "--target",
            url,
            "--compare",
            "body",
            "--api-key",
            "sk-client-key",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "4 OK" in replay.stdout

    # Against a proxy whose upstream is gone, the same recording does not match.
    port = free_port()
    dead = proxy_argv("http://127.0.0.1:9/v1", port, "--retries", "1")
    with running(dead, f"http://127.0.0.1:{port}/health", tmp_path / "dead.log", timeout_s=60):
        mismatch = subprocess.run(
            [
                sys.executable,
                "-c",
                "from api_server.cli import main; main()",
                "replay",
                str(recording),
                "--target",
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
        )
    assert mismatch.returncode == 1, mismatch.stdout
    assert "DIFF" in mismatch.stdout


def _wait_for_lines(path: Path, count: int, timeout_s: float = 10.0) -> list[str]:
    """The recorder writes off the request path: give it a moment."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise AssertionError(f"{path} has fewer than {count} lines")


def test_openai_sdk_through_a_proxy_for_an_anthropic_upstream(
    upstream_url: str, tmp_path: Path
) -> None:
    port = free_port()
    argv = proxy_argv(upstream_url, port)
    argv[argv.index("openai")] = "anthropic"
    with running(argv, f"http://127.0.0.1:{port}/health", tmp_path / "proxy.log", timeout_s=60):
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="k", max_retries=0)
        reply = client.chat.completions.create(
            model="claude-echo", messages=[{"role": "user", "content": "over the bridge"}]
        )
        assert reply.choices[0].message.content == "Echo: over the bridge"
        assert reply.usage is not None and reply.usage.prompt_tokens > 0
        tool = {
            "type": "function",
            "function": {
                "name": "lookup",
                "parameters": {
                    "type": "object",
                    "properties": {"term": {"type": "string"}},
                    "required": ["term"],
                },
            },
        }
        stream = client.chat.completions.create(
            model="claude-tool",
            messages=[{"role": "user", "content": "look it up"}],
            tools=[tool],  # type: ignore[list-item]
            stream=True,
        )
        chunks = [chunk for chunk in stream if chunk.choices]
        calls = [call for c in chunks for call in c.choices[0].delta.tool_calls or []]
        assert calls[0].function.name == "lookup"  # type: ignore[union-attr]
        arguments = "".join(c.function.arguments or "" for c in calls)  # type: ignore[union-attr]
        assert json.loads(arguments) == {"term": "Paris"}
        assert chunks[-1].choices[0].finish_reason == "tool_calls"
        # The Anthropic client of the same proxy is relayed as is.
        native = anthropic.Anthropic(base_url=f"http://127.0.0.1:{port}", api_key="k")
        message = native.messages.create(
            model="claude-echo", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
        assert message.id == "msg_fake"


def test_the_base_url_is_taken_as_either_sdk_spells_it(
    proxy: tuple[str, Path, Path], upstream_url: str, tmp_path: Path
) -> None:
    """`--base-url https://api.openai.com --type openai`, as the tracing proxy's README has it,
    and an Anthropic base URL with /v1: a second proxy in front of the recording one shows
    the path each request reached."""
    inner, _, recording = proxy
    before = len(recording.read_text().splitlines()) if recording.exists() else 0
    openai_port, anthropic_port = free_port(), free_port()
    openai_argv = proxy_argv(inner, openai_port)  # no /v1
    anthropic_argv = proxy_argv(f"{inner}/v1", anthropic_port)  # an OpenAI-style spelling
    anthropic_argv[anthropic_argv.index("openai")] = "anthropic"
    with (
        running(openai_argv, f"http://127.0.0.1:{openai_port}/health", tmp_path / "o.log", 60),
        running(
            anthropic_argv, f"http://127.0.0.1:{anthropic_port}/health", tmp_path / "a.log", 60
        ),
    ):
        reply = openai.OpenAI(
            base_url=f"http://127.0.0.1:{openai_port}/v1", api_key="k", max_retries=0
        ).chat.completions.create(
            model="any-upstream-model", messages=[{"role": "user", "content": "no version"}]
        )
        assert reply.choices[0].message.content == "Echo: no version"
        message = anthropic.Anthropic(
            base_url=f"http://127.0.0.1:{anthropic_port}", api_key="k", max_retries=0
        ).messages.create(
            model="claude-x", max_tokens=20, messages=[{"role": "user", "content": "with one"}]
        )
        assert message.content[0].text == "Echo: with one"  # type: ignore[union-attr]
    lines = [json.loads(line) for line in _wait_for_lines(recording, before + 2)][before:]
    assert [line["path"] for line in lines] == ["/v1/chat/completions", "/v1/messages"]
