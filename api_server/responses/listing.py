"""One page of a response's input items (`GET /v1/responses/{id}/input_items`), as
OpenAI pages lists: `order` (desc by default), `after` an item id, `limit` 1 to 100."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from api_server.errors import InvalidRequestError
from api_server.files_api.protocol import cursor_page

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def item_page(items: Sequence[dict[str, Any]], params: Mapping[str, str]) -> dict[str, Any]:
    """`items` oldest first; the page the query asks for, in OpenAI's list shape."""
    order = params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise InvalidRequestError("'order' must be 'asc' or 'desc'", param="order")
    limit = _limit(params.get("limit"))
    ordered = list(items) if order == "asc" else list(reversed(items))
    after = params.get("after")
    if after is not None:
        position = next((i for i, item in enumerate(ordered) if item.get("id") == after), None)
        if position is None:
            raise InvalidRequestError(f"No input item with id '{after}'", param="after")
        ordered = ordered[position + 1 :]
    return cursor_page(ordered[:limit], len(ordered) > limit)


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not value.isascii() or not value.isdecimal() or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidRequestError(
            f"'limit' must be a whole number from 1 to {MAX_LIMIT}", param="limit"
        )
    return int(value)
