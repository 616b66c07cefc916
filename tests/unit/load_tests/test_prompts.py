"""The dataset and the per-user prompt picker."""

from __future__ import annotations

import pytest

from load_tests.prompts import LONG_CONTEXT_CHARS, PromptPicker, load_dataset

DATASET = load_dataset()


def test_the_dataset_has_every_kind() -> None:
    assert len(DATASET.short) >= 20
    assert len(DATASET.conversations) >= 8
    assert all(len(c) in (3, 5) and c[-1]["role"] == "user" for c in DATASET.conversations)
    assert sum(map(len, DATASET.documents)) > 1.5 * LONG_CONTEXT_CHARS
    assert DATASET.long_questions
    assert {name for name, _ in DATASET.tool_prompts} == set(DATASET.tools)


def test_every_request_is_tagged_uniquely() -> None:
    first, second = PromptPicker(DATASET), PromptPicker(DATASET)
    contents = [p.short()[0]["content"] for p in (first, second) for _ in range(3)]
    tags = [content.split("]")[0] for content in contents]
    assert all(tag.startswith("[") for tag in tags)
    assert len(set(tags)) == 6


def test_tags_do_not_leak_into_the_dataset() -> None:
    picker = PromptPicker(DATASET)
    for _ in range(20):
        picker.medium()
    assert not any(
        message["content"].startswith("[") for c in DATASET.conversations for message in c
    )


def test_cache_friendly_users_send_the_same_untagged_prompts() -> None:
    first = PromptPicker(DATASET, cache_friendly=True)
    second = PromptPicker(DATASET, cache_friendly=True)
    for kind in ("short", "medium", "long", "stream"):
        assert getattr(first, kind)() == getattr(second, kind)()
    assert first.short()[0]["content"] in DATASET.short


@pytest.mark.parametrize("cache_friendly", [False, True])
def test_long_prompts_carry_a_long_context(cache_friendly: bool) -> None:
    (message,) = PromptPicker(DATASET, cache_friendly=cache_friendly).long()
    assert LONG_CONTEXT_CHARS <= len(message["content"]) < 2 * LONG_CONTEXT_CHARS
    assert message["content"].splitlines()[-1] in DATASET.long_questions


def test_tool_requests_name_a_defined_tool() -> None:
    request = PromptPicker(DATASET).tools()
    names = [tool["function"]["name"] for tool in request.tools]
    assert request.tool_name in names
    assert request.messages[0]["role"] == "user"
