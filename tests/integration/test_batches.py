"""The Files and Batch APIs on the real stack (PostgreSQL, the object store folder, the real
SmolLM2 on llama.cpp and the fake engine), driven by the official openai SDK: upload, create,
poll, download; a cancel; a gateway killed mid-batch and started again; two tenants."""

from __future__ import annotations

import os
import re
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest
import yaml
from openai.types import Batch

from stackctl.api import NativeStack
from tests.batch_tenancy import assert_hidden_from
from tests.integration.own_gateway import create_key, gateway_env, own_gateway, own_gateway_process
from tests.integration.test_examples import assert_prompts_answered_in_order, run_example

pytestmark = pytest.mark.integration

POLL_S = 0.1  # how often a test looks at a batch: a poll with a deadline, not a timing
FAST_RUNNER = {
    "INFERSTACK_BATCH_POLL_INTERVAL_S": "0.2",
    "INFERSTACK_BATCH_LEASE_S": "2",  # a killed runner's batch is free again within 2 s
}


def sdk_client(url: str, key: str) -> openai.OpenAI:
    """A client of one of the test's own gateways (closed with its block)."""
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)


def request_line(custom_id: str, model: str, content: str, **body: Any) -> bytes:
    request = {"model": model, "messages": [{"role": "user", "content": content}], **body}
    line = {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": request,
    }
    return orjson.dumps(line) + b"\n"


def start_batch(client: openai.OpenAI, lines: list[bytes]) -> Batch:
    uploaded = client.files.create(file=("requests.jsonl", b"".join(lines)), purpose="batch")
    return client.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )


def wait_for(
    client: openai.OpenAI, batch_id: str, done: Callable[[Batch], bool], timeout_s: float = 120
) -> Batch:
    deadline = time.monotonic() + timeout_s
    while True:
        batch = client.batches.retrieve(batch_id)
        if done(batch):
            return batch
        assert time.monotonic() < deadline, f"batch {batch_id} still {batch.status}: {batch}"
        time.sleep(POLL_S)


def ended(batch: Batch) -> bool:
    return batch.status in ("completed", "failed", "expired", "cancelled")


def completed_at_least(count: int) -> Callable[[Batch], bool]:
    return lambda batch: (
        batch.request_counts is not None and batch.request_counts.completed >= count
    )


def lines_of(client: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    return [orjson.loads(line) for line in client.files.content(file_id).content.splitlines()]


def test_a_batch_on_the_real_model(client: openai.OpenAI) -> None:
    questions = ["What is the capital of France?", "Name a colour.", "Say hello."]
    batch = start_batch(
        client,
        [
            request_line(f"q{i}", "SmolLM2-135M-Instruct", q, max_tokens=16, temperature=0)
            for i, q in enumerate(questions)
        ],
    )
    assert batch.status == "validating" and batch.model == "SmolLM2-135M-Instruct"
    done = wait_for(client, batch.id, ended, timeout_s=300)
    assert done.status == "completed", done
    assert done.request_counts is not None
    assert (done.request_counts.total, done.request_counts.completed) == (3, 3)
    assert done.in_progress_at and done.finalizing_at and done.completed_at
    assert done.usage is not None and done.usage.output_tokens > 0
    results = lines_of(client, done.output_file_id)
    assert [r["custom_id"] for r in results] == ["q0", "q1", "q2"]
    for result in results:
        assert result["error"] is None and result["response"]["status_code"] == 200
        body = result["response"]["body"]
        assert body["object"] == "chat.completion" and body["model"] == "SmolLM2-135M-Instruct"
        assert body["choices"][0]["message"]["content"]
    assert "Paris" in results[0]["response"]["body"]["choices"][0]["message"]["content"]
    assert client.files.retrieve(done.output_file_id or "").purpose == "batch_output"


def test_batch_lines_are_in_the_request_logs(client: openai.OpenAI, http: httpx.Client) -> None:
    batch = start_batch(
        client, [request_line(f"r{i}", "fake-echo", f"hello {i}") for i in range(3)]
    )
    done = wait_for(client, batch.id, ended)
    assert done.status == "completed"
    request_ids = {
        r["custom_id"]: r["response"]["request_id"] for r in lines_of(client, done.output_file_id)
    }
    deadline = time.monotonic() + 30  # rows are written in batches, off the request path
    while True:
        rows = http.get("/v1/logs", params={"agent_id": batch.id}).json()["data"]
        if len(rows) == 3 or time.monotonic() > deadline:
            break
        time.sleep(POLL_S)
    assert {row["client_request_id"]: row["id"] for row in rows} == request_ids
    assert {row["status_code"] for row in rows} == {200}


def test_a_cancelled_batch_keeps_what_finished(client: openai.OpenAI) -> None:
    # 0.6 s a line at the fake engine, two at once: the cancel comes while most wait.
    lines = [request_line(f"c{i}", "fake-slow", f"slow {i}") for i in range(10)]
    batch = start_batch(client, lines)
    wait_for(client, batch.id, completed_at_least(1))
    assert client.batches.cancel(batch.id).status == "cancelling"
    done = wait_for(client, batch.id, ended)
    assert done.status == "cancelled" and done.cancelled_at is not None
    outputs, errors = lines_of(client, done.output_file_id), lines_of(client, done.error_file_id)
    assert outputs and errors  # some lines ran, the rest never will
    assert all(r["response"]["status_code"] == 200 for r in outputs)
    assert {e["error"]["code"] for e in errors} == {"batch_cancelled"}
    assert sorted(r["custom_id"] for r in outputs + errors) == sorted(f"c{i}" for i in range(10))
    assert done.request_counts is not None
    assert done.request_counts.completed == len(outputs) < 10


def test_a_batch_survives_its_gateway_being_killed(
    native_stack: NativeStack,
    fake_engine_url: str,
    fake_engine: httpx.Client,
    tmp_path: Path,
) -> None:
    """Lines run one at a time (3 s each at the fake engine); the gateway is killed (SIGKILL)
    while the third is at the engine. Started again, it takes the batch up once the dead
    one's lease ends: the output holds every custom_id once, and the engine completed each
    request exactly once (the two finished before the kill were not run again)."""
    models = {
        "default_model": "batch-slow",
        "models": [
            {
                "name": "batch-slow",  # no other gateway of the stack serves it
                "prompt_family": "chatml",
                "engine": {
                    "kind": "llamacpp",
                    "served_name": "fake-slow-500",
                    "urls": [fake_engine_url],
                },
                "context_length": 8192,
                "max_tokens": {"default": 16, "limit": 64},
            }
        ],
    }
    (tmp_path / "batch-models.yaml").write_text(yaml.safe_dump(models))
    env = gateway_env(
        native_stack, fake_engine_url, tmp_path,
        INFERSTACK_MODELS_FILE=str(tmp_path / "batch-models.yaml"),
        INFERSTACK_AUTH_MODE="none",
        INFERSTACK_BATCH_MAX_CONCURRENCY_PER_MODEL="1",
        INFERSTACK_REQUEST_TIMEOUT_S="60",
        **FAST_RUNNER,
    )  # fmt: skip
    count = 5
    with (
        own_gateway_process(env, tmp_path / "gateway-1.log") as (url, process),
        sdk_client(url, "unused") as client,
    ):
        batch = start_batch(
            client, [request_line(f"k{i}", "batch-slow", f"line {i}") for i in range(count)]
        )
        wait_for(client, batch.id, completed_at_least(2))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    stats = fake_engine.get("/_stats").json()
    assert stats["completed_streams"] == 2, stats

    with own_gateway(env, tmp_path / "gateway-2.log") as url, sdk_client(url, "unused") as client:
        done = wait_for(client, batch.id, ended)
        outputs = lines_of(client, done.output_file_id)
    assert done.status == "completed", done
    assert done.request_counts is not None and done.request_counts.completed == count
    assert done.error_file_id is None
    assert Counter(r["custom_id"] for r in outputs) == Counter(f"k{i}" for i in range(count))
    assert [r["custom_id"] for r in outputs] == [f"k{i}" for i in range(count)]
    stats = fake_engine.get("/_stats").json()
    assert stats["completed_streams"] == count, stats  # never a finished line twice
    assert f"batch {batch.id}: claimed" in (tmp_path / "gateway-2.log").read_text()


def test_tenants_never_see_each_others_files_or_batches(
    native_stack: NativeStack, fake_engine_url: str, tmp_path: Path
) -> None:
    # Its runner off, and a model the stack's own gateway lacks: the batch stays waiting.
    env = gateway_env(
        native_stack, fake_engine_url, tmp_path, INFERSTACK_BATCH_RUNNER_ENABLED="false"
    )
    _, key_a = create_key(env, "--name", "batch-tenant-a")
    _, key_b = create_key(env, "--name", "batch-tenant-b")
    with (
        own_gateway(env, tmp_path / "gateway.log") as url,
        sdk_client(url, key_a) as alice,
        sdk_client(url, key_b) as bob,
        sdk_client(url, "nope") as stranger,
    ):
        batch = start_batch(alice, [request_line("a", "fake-other", "mine")])
        file_id = batch.input_file_id
        assert_hidden_from(bob, file_id, batch.id)
        assert file_id not in [f.id for f in bob.files.list()]
        assert batch.id not in [b.id for b in bob.batches.list()]
        assert alice.files.retrieve(file_id).id == file_id
        assert alice.batches.cancel(batch.id).status == "cancelling"
        with pytest.raises(openai.AuthenticationError):
            stranger.files.list()


def test_the_example_runs_its_prompts_as_a_batch(gateway_url: str, tmp_path: Path) -> None:
    output = tmp_path / "results.jsonl"
    result = run_example(
        "batch_processing", "--batch-api", "--base-url", f"{gateway_url}/v1",
        "--model", "fake-echo", "--output", str(output), "--poll-s", "0.2", timeout=180,
    )  # fmt: skip
    assert_prompts_answered_in_order(result, output)
    assert re.search(r"batch batch_\w+: completed", result.stderr)
