"""Query parameters of the logs API, validated into typed queries, and the page cursor.

Bad values raise InvalidRequestError naming the parameter (400 in OpenAI's envelope).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

import orjson

from api_server.errors import InvalidRequestError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
SMALLINT_MAX = 32767  # status_code is a smallint

GroupBy = Literal["model", "key", "day"]
GROUP_BYS: tuple[GroupBy, ...] = get_args(GroupBy)

# ASCII digits only, matched whole: `str.isdigit` and `\d` take "²" and other Unicode
# digits (which int() refuses), and `$` lets a trailing newline by.
_DECIMAL = re.compile(r"[0-9]{1,9}")
_STATUS_CLASS = re.compile(r"([1-5])xx")
_EPOCH = re.compile(r"[0-9]+(\.[0-9]+)?")
# `+01:00` arrives as ` 01:00` when a client leaves the `+` unencoded in the query string.
_UNENCODED_OFFSET = re.compile(r" ([0-9][0-9]:?[0-9][0-9])\Z")


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ended: the last row's (received_at, id). Pages go newest first."""

    received_at: datetime
    id: str


@dataclass(frozen=True, slots=True)
class LogScope:
    """Whose rows a reader may see: every row (`everything`), else only `tenant`'s. Made by
    the logs API from who calls; a scope that names no tenant and not everything sees
    nothing."""

    tenant: str | None = None
    everything: bool = False

    @classmethod
    def all_rows(cls) -> LogScope:
        return cls(everything=True)

    @classmethod
    def of_tenant(cls, tenant: str) -> LogScope:
        return cls(tenant=tenant)


@dataclass(frozen=True, slots=True)
class LogsQuery:
    model: str | None = None
    session_id: str | None = None
    client_request_id: str | None = None
    agent_id: str | None = None
    status_min: int | None = None  # both set or both None
    status_max: int | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    limit: int = DEFAULT_LIMIT
    after: Cursor | None = None


@dataclass(frozen=True, slots=True)
class UsageQuery:
    group_by: GroupBy = "model"
    since: datetime | None = None
    until: datetime | None = None


def parse_logs_query(params: Mapping[str, str]) -> LogsQuery:
    since, until = _time_range(params)
    status = params.get("status")
    status_min, status_max = parse_status(status) if status else (None, None)
    cursor = params.get("cursor")
    return LogsQuery(
        model=params.get("model") or None,
        session_id=params.get("session_id") or None,
        client_request_id=params.get("client_request_id") or None,
        agent_id=params.get("agent_id") or None,
        status_min=status_min,
        status_max=status_max,
        since=since,
        until=until,
        limit=parse_limit(params.get("limit")),
        after=decode_cursor(cursor) if cursor else None,
    )


def parse_usage_query(params: Mapping[str, str]) -> UsageQuery:
    since, until = _time_range(params)
    wanted = params.get("group_by") or "model"
    group_by = next((choice for choice in GROUP_BYS if choice == wanted), None)
    if group_by is None:
        raise InvalidRequestError(
            f"group_by must be one of {', '.join(GROUP_BYS)}, not {wanted!r}", param="group_by"
        )
    return UsageQuery(group_by=group_by, since=since, until=until)


def parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    if not _DECIMAL.fullmatch(value) or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidRequestError(
            f"limit must be an integer from 1 to {MAX_LIMIT}, not {value!r}", param="limit"
        )
    return int(value)


def parse_status(value: str) -> tuple[int, int]:
    """`404` (that code), `4xx` (a class) or `error` (every status >= 400)."""
    if value == "error":
        return 400, SMALLINT_MAX
    if match := _STATUS_CLASS.fullmatch(value):
        low = int(match.group(1)) * 100
        return low, low + 99
    if _DECIMAL.fullmatch(value) and 100 <= int(value) <= 599:
        return int(value), int(value)
    raise InvalidRequestError(
        f"status must be an HTTP status (404), a class (4xx) or 'error', not {value!r}",
        param="status",
    )


def parse_time(value: str, param: str) -> datetime:
    """ISO 8601 (a date, or a date and time; no offset means UTC) or Unix seconds."""
    try:
        if _EPOCH.fullmatch(value):
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(_UNENCODED_OFFSET.sub(r"+\1", value))
    except (ValueError, OverflowError, OSError):
        raise InvalidRequestError(
            f"{param} must be an ISO 8601 time or Unix seconds, not {value!r}", param=param
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def encode_cursor(cursor: Cursor) -> str:
    raw = orjson.dumps([cursor.received_at.isoformat(), cursor.id])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(value: str) -> Cursor:
    """The inverse of `encode_cursor`; anything else is a 400 naming `cursor`."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        received_at, request_id = orjson.loads(raw)
        parsed = datetime.fromisoformat(received_at)
        if not isinstance(request_id, str) or parsed.tzinfo is None:
            raise ValueError(value)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidRequestError(
            "cursor is not one this API returned (pass next_cursor unchanged)", param="cursor"
        ) from None
    return Cursor(parsed, request_id)


def _time_range(params: Mapping[str, str]) -> tuple[datetime | None, datetime | None]:
    since_text, until_text = params.get("since"), params.get("until")
    since = parse_time(since_text, "since") if since_text else None
    until = parse_time(until_text, "until") if until_text else None
    if since is not None and until is not None and until <= since:
        raise InvalidRequestError("until must be later than since", param="until")
    return since, until
