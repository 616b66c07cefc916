"""Query parameters of /v1/logs and /v1/usage, and the page cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api_server.errors import InvalidRequestError
from api_server.logs.query.protocol import (
    DEFAULT_LIMIT,
    Cursor,
    LogsQuery,
    UsageQuery,
    decode_cursor,
    encode_cursor,
    parse_logs_query,
    parse_status,
    parse_time,
    parse_usage_query,
)

T0 = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def test_no_parameters_means_everything_newest_first_in_pages_of_50() -> None:
    assert parse_logs_query({}) == LogsQuery()
    assert LogsQuery().limit == DEFAULT_LIMIT == 50
    assert parse_usage_query({}) == UsageQuery(group_by="model")


def test_every_logs_parameter() -> None:
    cursor = encode_cursor(Cursor(T0, "req-9"))
    query = parse_logs_query(
        {
            "model": "SmolLM2-135M-Instruct",
            "session_id": "s-0123",
            "client_request_id": "mine-1",
            "agent_id": "agent-7",
            "status": "5xx",
            "since": "2025-01-01",
            "until": "2025-01-03T00:00:00Z",
            "limit": "500",
            "cursor": cursor,
            "ignored": "x",
        }
    )
    assert query == LogsQuery(
        model="SmolLM2-135M-Instruct",
        session_id="s-0123",
        client_request_id="mine-1",
        agent_id="agent-7",
        status_min=500,
        status_max=599,
        since=datetime(2025, 1, 1, tzinfo=UTC),
        until=datetime(2025, 1, 3, tzinfo=UTC),
        limit=500,
        after=Cursor(T0, "req-9"),
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("200", (200, 200)), ("404", (404, 404)), ("4xx", (400, 499)), ("error", (400, 32767))],
)
def test_status_forms(value: str, expected: tuple[int, int]) -> None:
    assert parse_status(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-02T03:04:05.678901Z", T0),
        ("2025-01-02T03:04:05.678901+00:00", T0),
        ("2025-01-02T04:04:05.678901 01:00", T0),  # `+` left unencoded in the query string
        ("2025-01-02T03:04:05.678901", T0),  # no offset: UTC
        ("2025-01-02", datetime(2025, 1, 2, tzinfo=UTC)),
        ("1735787045.678901", T0),
        ("0", datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_time_forms(value: str, expected: datetime) -> None:
    assert abs(parse_time(value, "since") - expected) < timedelta(microseconds=2)


def test_times_keep_their_offset() -> None:
    parsed = parse_time("2025-01-02T05:00:00+02:00", "until")
    assert parsed.utcoffset() == timedelta(hours=2)
    assert parsed == datetime(2025, 1, 2, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "²"}, "limit"),  # isdigit() is true, int() refuses it: was a 500
        ({"limit": "\u0665"}, "limit"),  # an Arabic-Indic 5: not ours to accept
        ({"limit": "5\n"}, "limit"),
        ({"limit": "9" * 400}, "limit"),  # no huge int() parse
        ({"status": "²⁰⁰"}, "status"),
        ({"status": "4xx\n"}, "status"),
        ({"since": "²"}, "since"),
        ({"status": "2xxx"}, "status"),
        ({"status": "600"}, "status"),
        ({"status": "ok"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2025-13-01"}, "until"),
        ({"since": "1e400"}, "since"),
        ({"since": "2025-01-02", "until": "2025-01-01"}, "until"),
        ({"since": "2025-01-02", "until": "2025-01-02"}, "until"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_bad_logs_parameters_name_the_parameter(params: dict[str, str], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_logs_query(params)
    assert caught.value.param == param
    assert caught.value.status_code == 400


@pytest.mark.parametrize(
    ("params", "param"),
    [({"group_by": "hour"}, "group_by"), ({"since": "x"}, "since"), ({"until": "x"}, "until")],
)
def test_bad_usage_parameters_name_the_parameter(params: dict[str, str], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_usage_query(params)
    assert caught.value.param == param


@pytest.mark.parametrize("group_by", ["model", "key", "day"])
def test_group_by(group_by: str) -> None:
    assert parse_usage_query({"group_by": group_by}).group_by == group_by


@pytest.mark.parametrize("request_id", ["req-1", "a:b.c_d-e", "x" * 128, ""])
def test_cursor_round_trips_and_is_url_safe(request_id: str) -> None:
    cursor = Cursor(T0, request_id)
    encoded = encode_cursor(cursor)
    assert decode_cursor(encoded) == cursor
    assert encoded.isascii() and not set(encoded) & set("+/=&?# ")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "!!!",
        encode_cursor(Cursor(T0, "x"))[:-3],  # truncated
        "WzEsMl0",  # [1,2]
        "WyIyMDI1LTAxLTAyIiwgMV0",  # ["2025-01-02", 1]
        "WyIyMDI1LTAxLTAyVDAzOjA0OjA1IiwgIngiXQ",  # no offset
        "eyJhIjogMX0",  # {"a": 1}
    ],
)
def test_foreign_cursors_are_refused(text: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        decode_cursor(text)
    assert caught.value.param == "cursor"
