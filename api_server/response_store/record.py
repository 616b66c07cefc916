"""A stored response of the Responses API, and the store it is kept in (PostgreSQL; an
in-memory one in unit tests).

A record holds one response: its own input items, its output items and the Response object
less its output. The conversation a later `previous_response_id` continues is the chain of
records from the first response to that one, read back through `previous_response_id`.
Each record knows its chain's length (`depth`) and size (`history_bytes`), so a chain too
long or too large is refused before it is read. The store keeps what it is given: the
service owns ids, times and those counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class StoredResponse:
    id: str
    tenant: str | None  # the caller's (Principal.tenant); None: anonymous callers
    created_at: float  # Unix seconds
    model: str
    previous_response_id: str | None
    input_items: list[dict[str, Any]]  # this request's input, as GET .../input_items lists it
    output_items: list[dict[str, Any]]
    response: dict[str, Any]  # the Response object as answered, without its `output`
    depth: int  # responses in the chain up to this one, itself included
    history_bytes: int  # the JSON of every item in that chain, in bytes

    def as_response(self) -> dict[str, Any]:
        """The Response object as it was answered."""
        return {**self.response, "output": self.output_items}


class ResponseStore(Protocol):
    """Every call is scoped to one tenant: another tenant's record does not exist for it.
    Each raises ResponsesUnavailableError when the database cannot be reached."""

    async def save(self, record: StoredResponse) -> None: ...

    async def get(self, tenant: str | None, response_id: str) -> StoredResponse | None: ...

    async def chain(self, tenant: str | None, response_id: str, limit: int) -> list[StoredResponse]:
        """The record and those before it, oldest first, at most `limit` of them; empty
        when there is no such record. Shorter than the newest's `depth` when a response of
        the chain was deleted (or `limit` cut it)."""
        ...

    async def delete(self, tenant: str | None, response_id: str) -> bool:
        """False when there was no such record."""
        ...
