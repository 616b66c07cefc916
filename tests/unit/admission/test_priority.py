"""Priority classes: the header is checked strictly, and may lower a request's class below
its key's, never raise it (but for the admin)."""

from __future__ import annotations

import pytest

from api_server.admission.priority import parse_priority, rank, request_priority
from api_server.errors import InvalidRequestError
from api_server.priority_classes import PRIORITY_CLASSES, PriorityClass


def test_classes_rank_high_first() -> None:
    assert [rank(priority) for priority in PRIORITY_CLASSES] == [0, 1, 2]
    assert PRIORITY_CLASSES == ("high", "normal", "low")


@pytest.mark.parametrize(
    ("header", "expected"), [("high", "high"), (" Low ", "low"), ("NORMAL", "normal")]
)
def test_a_class_name_is_read_in_any_case(header: str, expected: str) -> None:
    assert parse_priority(header) == expected


@pytest.mark.parametrize("header", ["", "urgent", "1", "0", "high,low", "hi gh", "-1"])
def test_anything_else_is_a_400_naming_the_header(header: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        parse_priority(header)
    assert refused.value.status_code == 400 and refused.value.param == "X-Priority"
    assert "high, normal, low" in refused.value.message


@pytest.mark.parametrize(
    ("header", "own", "expected"),
    [
        (None, None, "normal"),  # no header, no class of its own
        (None, "high", "high"),  # the key's class is its default
        (None, "low", "low"),
        ("low", None, "low"),  # a header lowers
        ("low", "high", "low"),
        ("high", None, "normal"),  # ...never raises past the key's class
        ("high", "low", "low"),
        ("normal", "high", "normal"),
    ],
)
def test_the_header_is_capped_at_the_keys_class(
    header: str | None, own: PriorityClass | None, expected: str
) -> None:
    assert request_priority(header, own) == expected


def test_the_admin_may_ask_for_any_class() -> None:
    assert request_priority("high", None, may_raise=True) == "high"
    assert request_priority(None, None, may_raise=True) == "normal"


def test_a_malformed_header_is_refused_whatever_the_key() -> None:
    with pytest.raises(InvalidRequestError):
        request_priority("urgent", "high", may_raise=True)
