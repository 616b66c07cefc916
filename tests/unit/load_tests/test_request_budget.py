"""The `--max-requests` budget: tickets taken as requests start, the run ends with the last."""

from __future__ import annotations

import pytest

from load_tests.request_budget import RequestBudget


def test_no_request_starts_once_n_have_started_even_with_none_finished() -> None:
    # Four users at once, budget 5: after the first round each user asks again before any
    # answer came back; counting finished requests would let all eight start.
    budget = RequestBudget(5)
    first_round = [budget.start() for _ in range(4)]
    second_round = [budget.start() for _ in range(4)]
    assert first_round == [True] * 4
    assert second_round == [True, False, False, False]
    assert budget.started == 5


def test_only_the_last_request_to_finish_ends_the_run() -> None:
    budget = RequestBudget(3)
    for _ in range(3):
        assert budget.start()
    assert [budget.finish() for _ in range(3)] == [False, False, True]


def test_three_users_taking_turns_issue_exactly_n_and_end_on_the_last() -> None:
    budget = RequestBudget(7)
    busy = [False, False, False]  # each user's request in flight
    issued, ended = 0, 0
    for _round in range(5):  # 15 turns: more than 7 requests need
        for user in range(3):  # a user's turn: its answer arrives, then it starts the next
            if busy[user]:
                busy[user] = False
                ended += budget.finish()
            busy[user] = budget.start()
            issued += busy[user]
    assert issued == 7
    assert ended == 1  # one finish, the 7th, ends the run
    assert not any(busy)


def test_a_budget_needs_a_request() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RequestBudget(0)
