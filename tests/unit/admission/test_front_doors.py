"""The admission queue through the front doors, on the scripted engine: X-Priority checked
in each client's envelope, a saturated model's requests waiting (and served when a slot
frees, which they give back at their last byte), 429 queue_full and 503 queue_timeout with
Retry-After, the queue's metrics, and vLLM's priority passed on."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_server.admission.queue import FairQueue, Slot
from api_server.app import create_app
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.unit.scripted_engine import ScriptedEngine

HELLO = [{"role": "user", "content": "hello"}]
CHAT = {"model": "one-slot", "messages": HELLO, "temperature": 0.7}
MESSAGE = {"model": "one-slot", "max_tokens": 16, "messages": HELLO}


def models(engine_url: str) -> str:
    return f"""
default_model: one-slot
models:
  - name: one-slot
    prompt_family: chatml
    engine: {{kind: llamacpp, served_name: tiny, urls: ["{engine_url}"]}}
    context_length: 2048
    max_tokens: {{default: 16, limit: 64}}
    max_concurrency: 1
  - name: vllm-prio
    prompt_family: chatml
    engine: {{kind: vllm, served_name: v, urls: ["{engine_url}"], priority_scheduling: true}}
    context_length: 2048
    max_tokens: {{default: 16, limit: 64}}
  - name: vllm-plain
    prompt_family: chatml
    engine: {{kind: vllm, served_name: v, urls: ["{engine_url}"]}}
    context_length: 2048
    max_tokens: {{default: 16, limit: 64}}
  - name: on-max
    prompt_family: chatml
    engine: {{kind: max, served_name: m, urls: ["{engine_url}"]}}
    context_length: 2048
    max_tokens: {{default: 16, limit: 64}}
"""


@contextmanager
def gateway(tmp_path: Path, engine: ScriptedEngine, **settings: Any) -> Iterator[TestClient]:
    path = tmp_path / "models.yaml"
    path.write_text(models(engine.url))
    options = {"models_file": path, "cache_enabled": False, **settings}
    with TestClient(create_app(Settings(**options), ModelRegistry.from_file(path))) as client:
        yield client


@pytest.fixture
def client(tmp_path: Path, engine: ScriptedEngine) -> Iterator[TestClient]:
    with gateway(tmp_path, engine) as test_client:
        yield test_client


def post_meanwhile(client: TestClient, body: dict[str, Any]) -> tuple[threading.Thread, list[Any]]:
    """A chat completion posted from a thread of its own; its answer lands in the list."""
    answers: list[Any] = []

    def post() -> None:
        answers.append(client.post("/v1/chat/completions", json=body))

    thread = threading.Thread(target=post)
    thread.start()
    return thread, answers


def one_slot_queue(client: TestClient, model: str = "one-slot") -> FairQueue:
    queue: FairQueue = client.app.state.inferstack.admission.queues[model]  # type: ignore[attr-defined]
    return queue


def hold_the_slot(client: TestClient, model: str = "one-slot") -> Slot:
    """The model's one slot, taken as another request would hold it."""
    slot: Slot = client.portal.call(one_slot_queue(client, model).acquire, "someone", "normal")  # type: ignore[union-attr]
    return slot


def until_waiting(client: TestClient, count: int, model: str = "one-slot") -> None:
    """Return once `count` requests wait in the queue (asked on the app's own loop)."""
    queue = one_slot_queue(client, model)

    async def waiting() -> None:
        for _ in range(30_000):  # the request's thread posting it: a condition, not a timing
            if len(queue.waiting) >= count:
                return
            await asyncio.sleep(0.001)
        raise AssertionError(f"{count} waiting requests expected, {len(queue.waiting)} seen")

    client.portal.call(waiting)  # type: ignore[union-attr]


@pytest.mark.parametrize("header", ["urgent", "", "1"])
def test_a_malformed_x_priority_is_a_400_in_each_clients_envelope(
    client: TestClient, engine: ScriptedEngine, header: str
) -> None:
    refused = client.post("/v1/chat/completions", json=CHAT, headers={"X-Priority": header})
    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "invalid_request_error"
    assert refused.json()["error"]["param"] == "X-Priority"
    anthropic = client.post("/v1/messages", json=MESSAGE, headers={"X-Priority": header})
    assert anthropic.status_code == 400
    assert anthropic.json()["error"]["type"] == "invalid_request_error"
    assert engine.requests == []


def test_a_request_waits_for_the_slot_and_gives_it_back_at_its_end(
    client: TestClient, engine: ScriptedEngine
) -> None:
    held = hold_the_slot(client)
    waiting, answers = post_meanwhile(client, CHAT)
    until_waiting(client, 1)
    assert engine.requests == []  # max_concurrency holds it here: no 429, no engine call
    client.portal.call(held.release)  # type: ignore[union-attr]
    waiting.join()
    assert answers[0].status_code == 200
    assert (
        answers[0].json()["choices"][0]["message"]["content"] == "The capital of France is Paris."
    )
    assert one_slot_queue(client).admitted == 0


def test_a_waiter_goes_once_the_engines_own_queue_drains(
    tmp_path: Path, engine: ScriptedEngine
) -> None:
    """No request of ours ends: the health probe's new reading lets it in (the waiter's own
    recheck is set far off, so the probe's is the one that counts)."""
    engine.queued = 2  # MAX's maxserve_num_requests_queued: it is saturated
    with gateway(tmp_path, engine, health_interval_s=0.05, admission_recheck_s=3600) as client:
        held = hold_the_slot(client, "on-max")  # ours in service: nobody else may go
        waiting, answers = post_meanwhile(client, {**CHAT, "model": "on-max"})
        until_waiting(client, 1, "on-max")
        engine.queued = 0
        waiting.join()
        assert answers[0].status_code == 200
        client.portal.call(held.release)  # type: ignore[union-attr]


def test_a_stream_holds_its_slot_to_its_last_byte(client: TestClient) -> None:
    queue = one_slot_queue(client)
    with client.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as stream:
        assert stream.status_code == 200
        assert queue.admitted == 1
        body = stream.read()
    assert body.endswith(b"data: [DONE]\n\n")
    assert queue.admitted == 0
    anthropic = client.post("/v1/messages", json={**MESSAGE, "stream": True})
    assert anthropic.status_code == 200 and queue.admitted == 0


def test_a_full_queue_is_a_429_with_retry_after_in_each_envelope(
    tmp_path: Path, engine: ScriptedEngine
) -> None:
    with gateway(tmp_path, engine, admission_queue_max_depth=0) as client:
        held = hold_the_slot(client)
        refused = client.post("/v1/chat/completions", json=CHAT)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["error"]["code"] == "queue_full"
        assert refused.json()["error"]["type"] == "rate_limit_error"
        anthropic = client.post("/v1/messages", json=MESSAGE)
        assert anthropic.status_code == 429 and "Retry-After" in anthropic.headers
        assert anthropic.json()["error"]["type"] == "rate_limit_error"
        client.portal.call(held.release)  # type: ignore[union-attr]
        assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        metrics = client.get("/metrics").text
    assert (
        'inferstack_queue_rejections_total{model="one-slot",priority="normal",reason="full"} 2.0'
        in metrics
    )
    assert engine.requests and len(engine.requests) == 1


@pytest.mark.parametrize(
    "bound",
    # The request timeout leaves it ample time to reach the queue, even on a loaded machine
    # (a request whose whole time ran out before then is the request timeout's 504).
    [{"admission_queue_max_wait_s": 0.05}, {"request_timeout_s": 1.5}],
    ids=["queue-maximum", "request-timeout"],
)
def test_waiting_too_long_is_a_503_with_retry_after(
    tmp_path: Path, engine: ScriptedEngine, bound: dict[str, float]
) -> None:
    with gateway(tmp_path, engine, **bound) as client:
        held = hold_the_slot(client)
        refused = client.post("/v1/chat/completions", json=CHAT)
        assert refused.status_code == 503 and int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["error"]["code"] == "queue_timeout"
        anthropic = client.post("/v1/messages", json=MESSAGE)
        assert anthropic.status_code == 529 and "Retry-After" in anthropic.headers
        assert anthropic.json()["error"]["type"] == "overloaded_error"
        queue = one_slot_queue(client)
        assert not queue.waiting and queue.admitted == 1  # only the held slot
        client.portal.call(held.release)  # type: ignore[union-attr]
    assert engine.requests == []


def test_the_requests_class_shows_in_the_queues_metrics(client: TestClient) -> None:
    for header in ("low", "LOW", None):
        headers = {"X-Priority": header} if header else {}
        assert client.post("/v1/chat/completions", json=CHAT, headers=headers).status_code == 200
    metrics = client.get("/metrics").text
    low = 'inferstack_queue_wait_seconds_count{model="one-slot",priority="low"} 2.0'
    normal = 'inferstack_queue_wait_seconds_count{model="one-slot",priority="normal"} 1.0'
    assert low in metrics and normal in metrics
    assert 'inferstack_queue_depth{model="one-slot",priority="high"} 0.0' in metrics


@pytest.mark.parametrize(
    ("model", "header", "expected"),
    [
        ("vllm-prio", None, 1),
        ("vllm-prio", "low", 2),
        ("vllm-prio", "high", 1),
        ("vllm-plain", "low", None),
    ],
)
def test_vllm_scheduling_by_priority_is_sent_the_requests_class(
    client: TestClient, engine: ScriptedEngine, model: str, header: str | None, expected: int | None
) -> None:
    headers = {"X-Priority": header} if header else {}
    body = {"model": model, "prompt": "Count", "max_tokens": 4}
    assert client.post("/v1/completions", json=body, headers=headers).status_code == 200
    assert engine.last_request.get("priority") == expected  # "high" is above a key-less caller's


@pytest.mark.parametrize("header, expected", [(None, 1), ("low", 2)])
def test_a_chat_on_vllm_scheduling_by_priority_carries_its_class(
    client: TestClient, engine: ScriptedEngine, header: str | None, expected: int
) -> None:
    headers = {"X-Priority": header} if header else {}
    body = {"model": "vllm-prio", "messages": [{"role": "user", "content": "Hi"}]}
    assert client.post("/v1/chat/completions", json=body, headers=headers).status_code == 200
    assert engine.last_request.get("priority") == expected


def test_with_the_queue_off_max_concurrency_refuses_again(
    tmp_path: Path, engine: ScriptedEngine
) -> None:
    with gateway(tmp_path, engine, admission_queue_enabled=False) as client:
        assert client.app.state.inferstack.admission is None  # type: ignore[attr-defined]
        limiter = client.app.state.inferstack.rate_limiter  # type: ignore[attr-defined]
        assert limiter.concurrency.try_acquire("one-slot", 1)  # another request in flight
        refused = client.post("/v1/chat/completions", json=CHAT)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "model_overloaded"
