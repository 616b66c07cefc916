"""Paging a response's input items as OpenAI pages lists."""

from __future__ import annotations

from typing import Any

import pytest

from api_server.errors import InvalidRequestError
from api_server.responses.listing import item_page

ITEMS = [{"id": f"msg_{n}", "type": "message"} for n in range(5)]


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["data"]]


@pytest.mark.parametrize(
    ("params", "expected", "has_more"),
    [
        ({}, ["msg_4", "msg_3", "msg_2", "msg_1", "msg_0"], False),  # newest first by default
        ({"order": "asc"}, ["msg_0", "msg_1", "msg_2", "msg_3", "msg_4"], False),
        ({"limit": "2"}, ["msg_4", "msg_3"], True),
        ({"limit": "2", "after": "msg_3"}, ["msg_2", "msg_1"], True),
        ({"limit": "2", "after": "msg_1"}, ["msg_0"], False),
        ({"order": "asc", "after": "msg_3"}, ["msg_4"], False),
        ({"order": "asc", "after": "msg_4"}, [], False),
    ],
)
def test_pages(params: dict[str, str], expected: list[str], has_more: bool) -> None:
    page = item_page(ITEMS, params)
    assert ids(page) == expected
    assert page["object"] == "list"
    assert page["has_more"] is has_more
    assert (page["first_id"], page["last_id"]) == (
        (expected[0], expected[-1]) if expected else (None, None)
    )


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"order": "up"}, "order"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "²"}, "limit"),
        ({"after": "msg_9"}, "after"),
    ],
)
def test_bad_queries_are_refused(params: dict[str, str], param: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        item_page(ITEMS, params)
    assert raised.value.param == param
