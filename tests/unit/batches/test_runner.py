"""The batch runner's state machine, on a memory store, with each line run through the
gateway's own chat path against the scripted engine (or a scripted executor where a test
needs a line to do something at a given moment). Time is the runner's injected clock."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from api_server.app import create_app
from api_server.batches.execute import GatewayLineExecutor, LineExecutor, LineOutcome
from api_server.batches.input import InputLine
from api_server.batches.priority import BatchSlots
from api_server.batches.runner import BatchRunner, RunnerSettings
from api_server.batchstore.records import BatchRecord
from api_server.config import Settings
from api_server.registry import ModelRegistry
from api_server.state import AppState
from tests.unit.auth.fakes import ListSink
from tests.unit.batches.memory_store import MemoryBatchFiles, MemoryBatchQueue
from tests.unit.scripted_engine import ScriptedEngine

START = 1_700_000_000.0
DAY = 24 * 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def state(models_file: Path, request_log: ListSink) -> AsyncIterator[AppState]:
    """The gateway's app state, its clients open on this test's event loop."""
    app = create_app(
        Settings(models_file=models_file),
        ModelRegistry.from_file(models_file),
        request_log=request_log,
    )
    async with app.router.lifespan_context(app):
        yield app.state.inferstack


@pytest.fixture
def queue() -> MemoryBatchQueue:
    return MemoryBatchQueue()


@pytest.fixture
def files() -> MemoryBatchFiles:
    return MemoryBatchFiles()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def chat_line(custom_id: str, content: str = "hello", model: str = "tiny") -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": content}], "max_tokens": 8}
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


def add_batch(
    queue: MemoryBatchQueue,
    files: MemoryBatchFiles,
    lines: list[dict[str, Any]],
    *,
    batch_id: str = "batch_1",
    owner: str = "anonymous",
    api_key_id: str | None = None,
) -> BatchRecord:
    files.inputs[f"in/{batch_id}"] = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    record = BatchRecord(
        id=batch_id,
        owner=owner,
        api_key_id=api_key_id,
        endpoint="/v1/chat/completions",
        model="tiny",
        input_file_id=f"file-{batch_id}",
        input_object_key=f"in/{batch_id}",
        completion_window="24h",
        status="validating",
        total=len(lines),
        created_at=START,
        expires_at=START + DAY,
    )
    queue.add(record)
    return record


def runner_of(
    queue: MemoryBatchQueue,
    files: MemoryBatchFiles,
    execute: LineExecutor,
    clock: Clock,
    *,
    per_model: int = 1,
    worker: str = "worker-1",
    can_run: Callable[[str, str], bool] = lambda endpoint, model: True,
) -> BatchRunner:
    return BatchRunner(
        queue,
        files,
        execute,
        BatchSlots(per_model, 0, lambda model: 0, poll_s=0.001),
        # No heartbeat tick within a test: what happens, happens at a line's edge.
        RunnerSettings(poll_interval_s=3600, lease_s=7200, retry_base_s=0.001),
        can_run=can_run,
        clock=clock,
        worker=worker,
    )


class Scripted:
    """A line executor that counts runs per custom_id and calls `before` / `after` hooks."""

    def __init__(
        self,
        inner: LineExecutor,
        before: Callable[[InputLine], Any] | None = None,
        after: Callable[[InputLine], Any] | None = None,
    ) -> None:
        self.inner = inner
        self.before = before
        self.after = after
        self.runs: Counter[str] = Counter()

    async def __call__(self, batch: BatchRecord, line: InputLine) -> LineOutcome:
        self.runs[line.custom_id] += 1
        if self.before is not None and (waiting := self.before(line)) is not None:
            await waiting
        outcome = await self.inner(batch, line)
        if self.after is not None:
            self.after(line)
        return outcome


def parsed(lines: list[bytes]) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in lines]


async def test_a_batch_runs_every_line_through_the_chat_path(
    state: AppState,
    queue: MemoryBatchQueue,
    files: MemoryBatchFiles,
    clock: Clock,
    engine: ScriptedEngine,
    request_log: ListSink,
) -> None:
    record = add_batch(
        queue, files, [chat_line(f"req-{i}", f"question {i}") for i in range(3)],
        owner="key:k1", api_key_id="k1",
    )  # fmt: skip
    runner = runner_of(queue, files, GatewayLineExecutor(state), clock, per_model=2)
    assert await runner.run_pending() == [record.id]

    done = queue.batches[record.id]
    assert queue.statuses[record.id] == ["validating", "in_progress", "finalizing", "completed"]
    assert (done.total, done.completed, done.failed) == (3, 3, 0)
    assert done.in_progress_at == done.finalizing_at == done.completed_at == START
    assert done.error_file_id is None
    assert (done.input_tokens, done.output_tokens) == (21, 9)  # the engine's 7 + 3 each
    output = parsed(files.contents(done.output_file_id))
    assert [line["custom_id"] for line in output] == ["req-0", "req-1", "req-2"]
    assert all(line["response"]["status_code"] == 200 for line in output)
    answer = output[0]["response"]["body"]
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["content"] == "The capital of France is Paris."
    # Each line was one engine request with its own prompt, formatted as chat requests are.
    prompts = sorted(request["prompt"] for request in engine.requests)
    assert len(prompts) == 3 and all("question" in prompt for prompt in prompts)
    assert "<|im_start|>user\nquestion 1<|im_end|>" in prompts[1]
    # Logged as requests of the batch's tenant: the batch as agent id, custom_id as the
    # client's request id, the response's request id as the row's id.
    rows = {row.client_request_id: row for row in request_log.records}
    assert set(rows) == {"req-0", "req-1", "req-2"}
    for row in rows.values():
        assert (row.tenant, row.api_key_id, row.agent_id) == ("key:k1", "k1", record.id)
        assert row.status_code == 200 and row.model == "tiny-chatml"
    assert rows["req-0"].id == output[0]["response"]["request_id"]
    # The runner gave the batch up once it ended.
    assert queue.leases[record.id].owner is None
    assert queue.lines[record.id] == {}


async def test_a_resumed_batch_never_runs_a_finished_line_again(
    state: AppState,
    queue: MemoryBatchQueue,
    files: MemoryBatchFiles,
    clock: Clock,
    engine: ScriptedEngine,
) -> None:
    """The first runner stops (a gateway shutting down) while line 2 is at the engine; the
    next one runs only what had no result: line 2 again, then line 3."""
    record = add_batch(queue, files, [chat_line(f"req-{i}") for i in (1, 2, 3)])
    at_engine = asyncio.Event()

    def hold_line_2(line: InputLine) -> Any:
        if line.custom_id == "req-2":
            at_engine.set()
            return asyncio.Event().wait()  # never answers: cut off by the shutdown
        return None

    first = Scripted(GatewayLineExecutor(state), before=hold_line_2)
    runner = runner_of(queue, files, first, clock)
    assert await runner.claim_available() == [record.id]
    await at_engine.wait()
    await runner.close()

    assert queue.batches[record.id].status == "in_progress"
    assert queue.leases[record.id].owner is None  # given back at once, not left to expire
    assert await queue.done_lines(record.id) == {1}

    second = Scripted(GatewayLineExecutor(state))
    later = runner_of(queue, files, second, clock, worker="worker-2")
    assert await later.run_pending() == [record.id]
    assert first.runs + second.runs == Counter({"req-1": 1, "req-2": 2, "req-3": 1})
    assert second.runs == Counter({"req-2": 1, "req-3": 1})
    done = queue.batches[record.id]
    assert (done.status, done.completed) == ("completed", 3)
    output = parsed(files.contents(done.output_file_id))
    assert [line["custom_id"] for line in output] == ["req-1", "req-2", "req-3"]
    assert len(engine.requests) == 3  # the line cut off never reached the engine


async def test_failed_requests_go_to_the_error_file(
    state: AppState, queue: MemoryBatchQueue, files: MemoryBatchFiles, clock: Clock
) -> None:
    lines = [chat_line("good"), chat_line("no-such-model", model="nope"), chat_line("good-2")]
    lines[2]["body"]["max_tokens"] = -1
    record = add_batch(queue, files, lines)
    await runner_of(queue, files, GatewayLineExecutor(state), clock).run_pending()

    done = queue.batches[record.id]
    assert (done.status, done.completed, done.failed) == ("completed", 1, 2)
    assert [line["custom_id"] for line in parsed(files.contents(done.output_file_id))] == ["good"]
    errors = parsed(files.contents(done.error_file_id))
    assert [(e["custom_id"], e["response"]["status_code"]) for e in errors] == [
        ("no-such-model", 404),
        ("good-2", 400),
    ]
    assert errors[0]["response"]["body"]["error"]["code"] == "model_not_found"
    assert errors[0]["error"] is None


async def test_a_cancel_finishes_the_line_in_flight_and_runs_no_more(
    state: AppState, queue: MemoryBatchQueue, files: MemoryBatchFiles, clock: Clock
) -> None:
    record = add_batch(queue, files, [chat_line(f"req-{i}") for i in (1, 2, 3, 4)])

    def cancel_during_line_2(line: InputLine) -> None:
        if line.custom_id == "req-2":
            clock.now += 60
            queue.cancel(record.id, clock.now)  # POST /v1/batches/{id}/cancel meanwhile

    execute = Scripted(GatewayLineExecutor(state), before=cancel_during_line_2)
    await runner_of(queue, files, execute, clock).run_pending()

    assert execute.runs == Counter({"req-1": 1, "req-2": 1})
    done = queue.batches[record.id]
    assert queue.statuses[record.id] == ["validating", "in_progress", "cancelling", "cancelled"]
    assert (done.completed, done.failed) == (2, 0)
    assert done.cancelling_at == done.cancelled_at == START + 60
    output = parsed(files.contents(done.output_file_id))
    assert [line["custom_id"] for line in output] == ["req-1", "req-2"]
    errors = parsed(files.contents(done.error_file_id))
    assert [(e["custom_id"], e["response"], e["error"]["code"]) for e in errors] == [
        ("req-3", None, "batch_cancelled"),
        ("req-4", None, "batch_cancelled"),
    ]


async def test_a_batch_past_its_completion_window_expires_with_what_finished(
    state: AppState, queue: MemoryBatchQueue, files: MemoryBatchFiles, clock: Clock
) -> None:
    record = add_batch(queue, files, [chat_line(f"req-{i}") for i in (1, 2, 3)])

    def a_day_passes_after_line_2(line: InputLine) -> None:
        if line.custom_id == "req-2":
            clock.now = START + DAY

    execute = Scripted(GatewayLineExecutor(state), after=a_day_passes_after_line_2)
    await runner_of(queue, files, execute, clock).run_pending()

    done = queue.batches[record.id]
    assert queue.statuses[record.id] == ["validating", "in_progress", "expired"]
    assert (done.completed, done.failed, done.expired_at) == (2, 0, START + DAY)
    assert execute.runs == Counter({"req-1": 1, "req-2": 1})
    output = parsed(files.contents(done.output_file_id))
    assert [line["custom_id"] for line in output] == ["req-1", "req-2"]
    (expired,) = parsed(files.contents(done.error_file_id))
    assert expired["custom_id"] == "req-3"
    assert expired["error"] == {
        "code": "batch_expired",
        "message": "This request could not be executed before the completion window expired.",
    }


async def test_a_batch_claimed_after_its_window_expires_at_once(
    queue: MemoryBatchQueue, files: MemoryBatchFiles, clock: Clock
) -> None:
    record = add_batch(queue, files, [chat_line("a"), chat_line("b")])
    clock.now = START + DAY + 1
    execute = Scripted(_unreachable)
    await runner_of(queue, files, execute, clock).run_pending()
    done = queue.batches[record.id]
    assert (done.status, done.output_file_id) == ("expired", None)
    assert [e["custom_id"] for e in parsed(files.contents(done.error_file_id))] == ["a", "b"]
    assert not execute.runs


async def test_busy_answers_are_tried_again_not_recorded(
    queue: MemoryBatchQueue, files: MemoryBatchFiles, clock: Clock
) -> None:
    answers = [LineOutcome(429, {"error": {}}, "r1", 0.0), LineOutcome(503, {}, "r2")]

    async def busy_twice(batch: BatchRecord, line: InputLine) -> LineOutcome:
        return answers.pop(0) if answers else LineOutcome(200, {"ok": True}, "r3")

    record = add_batch(queue, files, [chat_line("only")])
    await runner_of(queue, files, busy_twice, clock).run_pending()
    done = queue.batches[record.id]
    assert (done.status, done.completed, done.failed) == ("completed", 1, 0)
    (line,) = parsed(files.contents(done.output_file_id))
    assert line["response"] == {"status_code": 200, "request_id": "r3", "body": {"ok": True}}


async def test_a_runner_that_lost_its_lease_stops_and_writes_nothing_more(
    state: AppState, queue: MemoryBatchQueue, files: MemoryBatchFiles, clock: Clock
) -> None:
    record = add_batch(queue, files, [chat_line(f"req-{i}") for i in (1, 2, 3)])

    def another_takes_over(line: InputLine) -> None:
        if line.custom_id == "req-2":
            queue.leases[record.id].owner = "worker-2"  # this one stalled past its lease

    execute = Scripted(GatewayLineExecutor(state), after=another_takes_over)
    await runner_of(queue, files, execute, clock).run_pending()
    assert execute.runs == Counter({"req-1": 1, "req-2": 1})
    assert await queue.done_lines(record.id) == {1}  # line 2's result was not its to keep
    assert queue.batches[record.id].status == "in_progress"
    assert queue.leases[record.id].owner == "worker-2"


async def test_two_runners_never_hold_one_batch(
    queue: MemoryBatchQueue, files: MemoryBatchFiles, clock: Clock
) -> None:
    record = add_batch(queue, files, [chat_line("a")])
    one = runner_of(queue, files, _ok, clock, worker="one")
    two = runner_of(queue, files, _ok, clock, worker="two")
    claimed = await asyncio.gather(one.run_pending(), two.run_pending())
    assert sorted(map(len, claimed)) == [0, 1]
    assert queue.batches[record.id].completed == 1


async def test_a_batch_of_a_model_this_gateway_lacks_is_left_alone(
    queue: MemoryBatchQueue, files: MemoryBatchFiles, clock: Clock
) -> None:
    record = add_batch(queue, files, [chat_line("a")])
    runner = runner_of(queue, files, _ok, clock, can_run=lambda endpoint, model: False)
    assert await runner.run_pending() == []
    assert queue.batches[record.id].status == "validating"


async def test_a_line_that_no_longer_parses_is_a_400_in_the_error_file(
    queue: MemoryBatchQueue, files: MemoryBatchFiles, clock: Clock
) -> None:
    record = add_batch(queue, files, [chat_line("a")])
    files.inputs[record.input_object_key] += b'{"custom_id": "b", "method": "GET"}\n'
    await runner_of(queue, files, _ok, clock).run_pending()
    done = queue.batches[record.id]
    (error,) = parsed(files.contents(done.error_file_id))
    assert (error["custom_id"], error["response"]["status_code"]) == ("b", 400)
    assert "Line 2" in error["response"]["body"]["error"]["message"]


async def test_an_input_file_gone_from_the_store_fails_the_batch(
    queue: MemoryBatchQueue, files: MemoryBatchFiles, clock: Clock
) -> None:
    record = add_batch(queue, files, [chat_line("a")])
    del files.inputs[record.input_object_key]
    await runner_of(queue, files, _ok, clock).run_pending()
    done = queue.batches[record.id]
    assert done.status == "failed" and done.failed_at == START
    assert done.errors is not None and done.errors[0]["code"] == "input_file_missing"


async def _ok(batch: BatchRecord, line: InputLine) -> LineOutcome:
    return LineOutcome(200, {"custom_id": line.custom_id}, "request")


async def _unreachable(batch: BatchRecord, line: InputLine) -> LineOutcome:
    raise AssertionError("no line should run")
