"""The workload scenarios (synthetic, shared-prefix, multi-turn, replay) run end to end: a
real `python -m load_tests run` against a fake gateway that keeps every request body, so
each test asserts what was sent (streamed with usage, max_tokens, ignore_eos, the shared
prefixes, the history growing turn by turn, the recorded schedule) and what the report
says about output lengths (asked for vs received: the fake always writes 4 tokens)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.load_tests.slotted_gateway import SlottedGateway, running_gateway

REPO = Path(__file__).resolve().parents[3]
TOKENS = 4  # what the fake gateway writes per answer, whatever max_tokens says


@pytest.fixture
def gateway() -> Iterator[SlottedGateway]:
    with running_gateway(slots=4, service_s=0.04) as gateway:
        yield gateway


def load_test(gateway: SlottedGateway, report_dir: Path, *options: str) -> dict[str, Any]:
    argv = [
        sys.executable, "-m", "load_tests", "run", "--host", gateway.url, "--model", "m",
        "--no-screenshot", "--report-dir", str(report_dir), *options,
    ]  # fmt: skip
    run = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode in (0, 1), run.stdout[-3000:] + run.stderr[-3000:]
    report: dict[str, Any] = json.loads((report_dir / "report.json").read_text())
    report["stdout"] = run.stdout
    return report


def user_words(body: dict[str, Any]) -> int:
    return len(body["messages"][-1]["content"].split())


def test_synthetic_requests_are_streamed_with_their_lengths(
    gateway: SlottedGateway, tmp_path: Path
) -> None:
    report = load_test(
        gateway, tmp_path, "--scenario", "synthetic", "--requests", "6", "--concurrency", "2",
        "--input-len", "20", "--output-len", "16",
    )  # fmt: skip
    assert len(gateway.bodies) == 6
    for body in gateway.bodies:
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
        assert (body["max_tokens"], body["ignore_eos"]) == (16, True)
        assert user_words(body) == 22  # "Request N:" and 20 words
    assert len({body["messages"][-1]["content"] for body in gateway.bodies}) == 6
    overall = report["overall"]
    assert overall["requests"] == 6 and overall["failures"] == 0
    assert overall["output_len"] == {"requested_mean": 16.0, "received_mean": float(TOKENS)}
    assert overall["ttft_ms"] is not None
    assert "output tokens per answer: asked 16, received 4" in report["stdout"]


def test_no_ignore_eos_leaves_it_out(gateway: SlottedGateway, tmp_path: Path) -> None:
    load_test(
        gateway, tmp_path, "--scenario", "synthetic", "--requests", "2", "--no-ignore-eos",
        "--output-len", "uniform:8:12",
    )  # fmt: skip
    assert all("ignore_eos" not in body for body in gateway.bodies)
    assert all(8 <= body["max_tokens"] <= 12 for body in gateway.bodies)


def test_shared_prefix_open_loop_sends_one_of_the_groups_prefixes(
    gateway: SlottedGateway, tmp_path: Path
) -> None:
    report = load_test(
        gateway, tmp_path, "--scenario", "shared-prefix", "--rate", "20", "--duration", "1s",
        "--warmup", "0", "--prefix-len", "30", "--prefix-groups", "2", "--input-len", "5",
    )  # fmt: skip
    prefixes = [body["messages"][0]["content"] for body in gateway.bodies]
    assert len(prefixes) >= 5
    assert len(set(prefixes)) == 2 and all(len(p.split()) == 32 for p in prefixes)
    assert all(body["messages"][0]["role"] == "system" for body in gateway.bodies)
    (step,) = report["sweep"]["steps"]
    assert step["output_len"]["requested_mean"] == 128  # the default --output-len
    assert step["output_len"]["received_mean"] == TOKENS
    # The gateway's own /metrics over the step (no warm-up: every request is the window's).
    server = step["server"]
    assert server["requests"] == step["requests"] == len(gateway.bodies)
    assert server["output_tokens"] == TOKENS * step["requests"]
    assert server["e2e_ms"]["p50"] is not None and server["ttft_ms"]["p99"] is not None
    assert step["token_count_mismatches"] == 0
    assert "client / server" in report["stdout"]


def test_multi_turn_resends_the_history_with_each_answer(
    gateway: SlottedGateway, tmp_path: Path
) -> None:
    load_test(
        gateway, tmp_path, "--scenario", "multi-turn", "--turns", "3", "--requests", "6",
        "--concurrency", "1", "--input-len", "4",
    )  # fmt: skip
    sizes = [len(body["messages"]) for body in gateway.bodies]
    assert sizes == [2, 4, 6, 2, 4, 6]  # system + user, then each answer and the next turn
    first, second, third = gateway.bodies[:3]
    assert second["messages"][:2] == first["messages"]
    assert second["messages"][2] == {"role": "assistant", "content": "tok " * TOKENS}
    assert third["messages"][:4] == second["messages"]
    # The fourth request opens a new conversation.
    assert gateway.bodies[3]["messages"][0] != first["messages"][0]


def test_a_recorded_replay_is_sent_at_its_recorded_times(
    gateway: SlottedGateway, tmp_path: Path
) -> None:
    recording = tmp_path / "recording.jsonl"
    times = ["00:00:00", "00:00:00.6", "00:00:01.2"]
    lines = [
        {"time": f"2026-01-01T{t}+00:00", "method": "POST", "path": "/v1/chat/completions",
         "request_body": json.dumps({"messages": [{"role": "user", "content": f"q{i}"}],
                                     "max_tokens": 5 + i})}
        for i, t in enumerate(times)
    ]  # fmt: skip
    recording.write_text("".join(json.dumps(line) + "\n" for line in lines))
    report = load_test(
        gateway, tmp_path / "report", "--scenario", "replay", "--replay", str(recording),
        "--replay-timing", "recorded",
    )  # fmt: skip
    assert [body["messages"][0]["content"] for body in gateway.bodies] == ["q0", "q1", "q2"]
    assert [body["max_tokens"] for body in gateway.bodies] == [5, 6, 7]
    assert all(body["ignore_eos"] is True for body in gateway.bodies)
    (step,) = report["sweep"]["steps"]
    assert step["requests"] == 3 and step["warmup_s"] == 0
    fields = step["samples"]["fields"]
    rows = [dict(zip(fields, row, strict=True)) for row in step["samples"]["rows"]]
    assert [row["scheduled_s"] for row in rows] == [0.0, 0.6, 1.2]
    assert all(row["sent_s"] >= row["scheduled_s"] for row in rows)
    assert "recorded schedule" in report["stdout"]


def test_replay_at_a_rate_cycles_through_the_recording(
    gateway: SlottedGateway, tmp_path: Path
) -> None:
    recording = tmp_path / "bodies.jsonl"
    recording.write_text(
        "".join(
            json.dumps({"messages": [{"role": "user", "content": f"r{i}"}]}) + "\n"
            for i in range(2)
        )
    )
    load_test(
        gateway, tmp_path / "report", "--scenario", "replay", "--replay", str(recording),
        "--requests", "5", "--concurrency", "1",
    )  # fmt: skip
    contents = [body["messages"][0]["content"] for body in gateway.bodies]
    assert contents == ["r0", "r1", "r0", "r1", "r0"]
    assert all("max_tokens" not in body and "ignore_eos" not in body for body in gateway.bodies)


def test_workload_options_are_checked_before_locust_starts(tmp_path: Path) -> None:
    for options, problem in (
        (["--scenario", "shared-prefix"], "needs --prefix-len"),
        (["--scenario", "replay"], "needs --replay PATH"),
        (["--scenario", "synthetic", "--replay-timing", "recorded"], "goes with --scenario replay"),
        (["--scenario", "synthetic", "--input-len", "uniform:9:3"], "not a length"),
    ):
        argv = [sys.executable, "-m", "load_tests", "run", "--report-dir", str(tmp_path), *options]
        run = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60)
        assert run.returncode == 2 and problem in run.stderr, (options, run.stderr)


def test_a_repeated_rate_runs_each_seed_and_pools_them(
    gateway: SlottedGateway, tmp_path: Path
) -> None:
    report = load_test(
        gateway, tmp_path, "--scenario", "synthetic", "--rate", "10", "--duration", "1s",
        "--warmup", "0", "--repeat", "2", "--input-len", "5", "--output-len", "4",
    )  # fmt: skip
    (step,) = report["sweep"]["steps"]
    assert step["repeats"] == 2 and step["window_s"] == 1
    runs = [row[-1] for row in step["samples"]["rows"]]
    assert set(runs) == {0, 1} and step["requests"] == len(gateway.bodies) == len(runs)
    # Each run's own schedule (seed, seed + 1): not the same arrivals twice.
    first = [row[0] for row in step["samples"]["rows"] if row[-1] == 0]
    second = [row[0] for row in step["samples"]["rows"] if row[-1] == 1]
    assert first != second
    low, high = step["spread"]["achieved_per_s"]
    assert low is not None and high is not None and low <= step["achieved_per_s"] * 1.0001
    assert step["offered_per_s"] == round(step["requests"] / 2, 3)
    assert "spread over 2 runs of each rate" in report["stdout"]
