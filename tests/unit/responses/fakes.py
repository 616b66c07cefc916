"""An in-memory response store behind the same protocol as PostgreSQL's, and a function
tool, for unit tests of the Responses API."""

from __future__ import annotations

import copy

from api_server.errors import ResponsesUnavailableError
from api_server.response_store.record import StoredResponse

# A Responses API function tool (flat: no "function" object around it, unlike chat's).
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


class MemoryResponseStore:
    def __init__(self) -> None:
        self.records: dict[tuple[str | None, str], StoredResponse] = {}
        self.down = False  # every call fails as a database that is down does

    async def save(self, record: StoredResponse) -> None:
        self._check()
        self.records[(record.tenant, record.id)] = copy.deepcopy(record)

    async def get(self, tenant: str | None, response_id: str) -> StoredResponse | None:
        self._check()
        return copy.deepcopy(self.records.get((tenant, response_id)))

    async def chain(self, tenant: str | None, response_id: str, limit: int) -> list[StoredResponse]:
        self._check()
        chain: list[StoredResponse] = []
        next_id: str | None = response_id
        while next_id is not None and len(chain) < limit:
            record = self.records.get((tenant, next_id))
            if record is None:
                break
            chain.append(copy.deepcopy(record))
            next_id = record.previous_response_id
        return chain[::-1]

    async def delete(self, tenant: str | None, response_id: str) -> bool:
        self._check()
        return self.records.pop((tenant, response_id), None) is not None

    def _check(self) -> None:
        if self.down:
            raise ResponsesUnavailableError("Stored responses are unavailable right now")
