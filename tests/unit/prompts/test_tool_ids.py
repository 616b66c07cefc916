from __future__ import annotations

import re

import pytest

from api_server.prompts.tool_ids import to_mistral_call_id

MISTRAL_ID = re.compile(r"[a-zA-Z0-9]{9}")


@pytest.mark.parametrize("client_id", ["abcDEF123", "000000000", "ZZZZZZZZZ"])
def test_valid_ids_pass_through(client_id: str) -> None:
    assert to_mistral_call_id(client_id) == client_id


@pytest.mark.parametrize(
    "client_id",
    [
        "call_abc123",
        "call_9f2Xq_LONG-id",
        "",
        "abcDEF12",
        "abcDEF1234",
        "abc-EF123",
        "toolu_01A09q90qw90lq917835lq9",
    ],
)
def test_other_ids_map_to_valid_stable_ids(client_id: str) -> None:
    mapped = to_mistral_call_id(client_id)
    assert MISTRAL_ID.fullmatch(mapped)
    assert mapped != client_id
    assert to_mistral_call_id(client_id) == mapped
    assert to_mistral_call_id(mapped) == mapped


def test_distinct_ids_stay_distinct() -> None:
    ids = [f"call_{i}" for i in range(5000)]
    assert len({to_mistral_call_id(i) for i in ids}) == len(ids)
