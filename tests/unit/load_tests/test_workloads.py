"""Workloads: length distributions, synthetic and shared-prefix prompts, multi-turn
conversations kept in order under any arrivals, and replays of recordings."""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path

import pytest

from load_tests.workloads import (
    VOCABULARY,
    ConversationPool,
    Length,
    PlannedRequest,
    Synthetic,
    read_replay,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("128", Length("fixed", 128)),
        ("fixed:64", Length("fixed", 64)),
        ("uniform:10:20", Length("uniform", 10, 20)),
        ("normal:256:32", Length("normal", 256, 32)),
    ],
)
def test_lengths_parse(text: str, expected: Length) -> None:
    assert Length.parse(text) == expected
    assert Length.parse(str(expected)) == expected


@pytest.mark.parametrize("text", ["", "0", "uniform:20:10", "normal:5", "zipf:3", "fixed:x"])
def test_bad_lengths_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a length"):
        Length.parse(text)


def test_samples_follow_their_distribution() -> None:
    rng = random.Random(1)
    uniform = [Length.parse("uniform:10:20").sample(rng) for _ in range(2000)]
    assert min(uniform) == 10 and max(uniform) == 20
    normal = [Length.parse("normal:200:20").sample(rng) for _ in range(2000)]
    assert statistics.mean(normal) == pytest.approx(200, abs=2)
    assert statistics.stdev(normal) == pytest.approx(20, abs=2)
    assert min(Length.parse("normal:2:50").sample(rng) for _ in range(200)) == 1


def test_synthetic_prompts_have_their_length_and_never_repeat() -> None:
    workload = Synthetic(Length.parse("50"), Length.parse("16"), rng=random.Random(3))
    first, second = workload.next(), workload.next()
    (message,) = first.messages
    assert len(message["content"].split()) == 52  # "Request 0:" and 50 words
    assert first.messages != second.messages
    assert (first.max_tokens, first.ignore_eos) == (16, True)
    assert set(message["content"].split()[2:]) <= set(VOCABULARY)
    assert first.body("m")["ignore_eos"] is True


def test_shared_prefix_requests_share_one_of_the_groups_prefixes() -> None:
    workload = Synthetic(
        Length.parse("8"), Length.parse("4"), prefix_len=300, groups=2, rng=random.Random(0)
    )
    requests = [workload.next() for _ in range(6)]
    prefixes = [r.messages[0]["content"] for r in requests]
    assert len(set(prefixes)) == 2 and prefixes[0] == prefixes[2] == prefixes[4]
    assert all(len(p.split()) == 302 for p in prefixes)
    assert len({r.messages[1]["content"] for r in requests}) == 6
    # The same prefixes in every run and process (seeded by group), whatever the rng.
    again = Synthetic(Length.parse("8"), Length.parse("4"), prefix_len=300, groups=2)
    assert again.next().messages[0] == requests[0].messages[0]


def test_conversations_resend_their_history_and_turns_wait_for_answers() -> None:
    pool = ConversationPool(turns=3, input_len=Length.parse("5"), output_len=Length.parse("8"))
    a1 = pool.next()
    b1 = pool.next()  # a is waiting for its answer: a second conversation opens
    assert (a1.conversation, b1.conversation) == (0, 1)
    pool.answered(0, "answer one")
    a2 = pool.next()
    assert a2.conversation == 0
    assert [m["role"] for m in a2.messages] == ["system", "user", "assistant", "user"]
    assert a2.messages[:2] == a1.messages and a2.messages[2]["content"] == "answer one"
    pool.answered(0, "answer two")
    a3 = pool.next()
    assert a3.conversation == 0 and len(a3.messages) == 6
    pool.answered(0, "answer three")  # its third turn: it ends
    assert pool.open_conversations == 1
    pool.answered(1, None)  # a failed turn drops its conversation
    assert pool.open_conversations == 0
    assert pool.next().conversation == 2


def test_replay_reads_recorded_exchanges_and_plain_bodies(tmp_path: Path) -> None:
    chat = {"model": "x", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 9}
    lines = [
        {"time": "2026-01-01T00:00:00+00:00", "method": "POST", "path": "/v1/chat/completions",
         "request_body": json.dumps(chat), "status": 200},
        {"time": "2026-01-01T00:00:02.5+00:00", "method": "POST", "path": "/v1/messages",
         "request_body": "{}", "status": 200},  # Anthropic's: not replayed
        {"time": "2026-01-01T00:00:04+00:00", "method": "POST", "path": "/v1/chat/completions",
         "request_body": json.dumps({**chat, "max_tokens": 3}), "status": 200},
        {"messages": [{"role": "user", "content": "plain"}], "max_completion_tokens": 5},
    ]  # fmt: skip
    path = tmp_path / "recording.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    first, second, plain = read_replay(path)
    assert (first.max_tokens, first.at_s, second.max_tokens, second.at_s) == (9, 0.0, 3, 4.0)
    assert plain == PlannedRequest([{"role": "user", "content": "plain"}], 5)


@pytest.mark.parametrize("content", ["not json\n", '{"path": "/v1/models", "request_body": ""}\n'])
def test_a_replay_without_chat_requests_says_so(tmp_path: Path, content: str) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(content)
    with pytest.raises(ValueError, match=r"r\.jsonl"):
        read_replay(path)
