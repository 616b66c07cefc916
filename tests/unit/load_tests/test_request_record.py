"""Per-request figures as vLLM defines them, and which requests meet the objectives."""

from __future__ import annotations

import pytest

from load_tests.objectives import Objectives, meets_all, objective_verdicts, parse_objectives
from load_tests.request_record import Answer, RequestRecord


def streamed(e2e_s: float = 1.0, ttft_ms: float = 100.0, tokens: int = 10) -> RequestRecord:
    answer = Answer(ok=True, ttft_ms=ttft_ms, client_tokens=tokens, server_tokens=tokens)
    return RequestRecord(scheduled_s=2.0, sent_s=2.0, done_s=2.0 + e2e_s, answer=answer)


def test_tpot_is_the_time_after_the_first_token_over_the_tokens_after_it() -> None:
    record = streamed(e2e_s=1.0, ttft_ms=100.0, tokens=10)
    assert record.e2e_ms == pytest.approx(1000)
    assert record.tpot_ms == pytest.approx(900 / 9)


@pytest.mark.parametrize(
    "answer",
    [
        Answer(ok=True, server_tokens=10),  # not streamed: no TTFT
        Answer(ok=True, ttft_ms=100, server_tokens=1),  # one token: nothing after the first
        Answer(ok=False, ttft_ms=100),  # no token count
    ],
)
def test_tpot_needs_a_stream_of_two_tokens_or_more(answer: Answer) -> None:
    assert RequestRecord(0, 0, 1, answer).tpot_ms is None


def test_the_server_count_wins_and_a_differing_client_count_is_a_mismatch() -> None:
    answer = Answer(ok=True, ttft_ms=50, client_tokens=8, server_tokens=10)
    record = RequestRecord(0, 0, 1, answer)
    assert record.output_tokens == 10
    assert record.token_count_mismatch
    assert not streamed().token_count_mismatch
    assert RequestRecord(0, 0, 1, Answer(ok=True, client_tokens=3)).output_tokens == 3


def test_lateness_is_how_long_after_its_schedule_a_request_left() -> None:
    record = RequestRecord(scheduled_s=1.0, sent_s=1.25, done_s=2.0, answer=Answer(ok=True))
    assert record.lateness_ms == pytest.approx(250)
    assert record.e2e_ms == pytest.approx(750)  # E2E counts from the send


def test_each_objective_is_judged_on_its_own_figure() -> None:
    objectives = Objectives(ttft_ms=200, tpot_ms=50, e2e_ms=2000)
    slow_start = streamed(e2e_s=1.0, ttft_ms=300, tokens=10)  # TPOT 700/9 = 78 ms
    assert objective_verdicts(slow_start, objectives) == {
        "ttft_ms": False, "tpot_ms": False, "e2e_ms": True,
    }  # fmt: skip
    assert meets_all(streamed(e2e_s=0.5, ttft_ms=50, tokens=10), objectives)


def test_a_failed_request_meets_nothing_and_a_figure_it_cannot_have_does_not_count() -> None:
    objectives = Objectives(ttft_ms=200, e2e_ms=2000)
    failed = RequestRecord(0, 0, 0.1, Answer(ok=False, error="HTTP 503"))
    assert objective_verdicts(failed, objectives) == {"ttft_ms": False, "e2e_ms": False}
    not_streamed = RequestRecord(0, 0, 0.5, Answer(ok=True, server_tokens=4))
    assert meets_all(not_streamed, objectives)
    assert not meets_all(failed, Objectives())  # no objectives: success alone counts


def test_objectives_parse_from_a_profile_block() -> None:
    assert parse_objectives(None) == Objectives()
    parsed = parse_objectives({"ttft_ms": 500, "e2e_ms": 1500, "min_attainment": 0.95})
    assert parsed.limits == {"ttft_ms": 500.0, "e2e_ms": 1500.0}
    assert parsed.as_dict() == {"ttft_ms": 500.0, "e2e_ms": 1500.0, "min_attainment": 0.95}


@pytest.mark.parametrize(
    "block",
    [[500], {"ttft": 500}, {"e2e_ms": 0}, {"e2e_ms": 100, "min_attainment": 1.5}],
)
def test_malformed_objectives_are_refused(block: object) -> None:
    with pytest.raises(ValueError):
        parse_objectives(block)
