"""Prompt prefix keys and the bounded index of which replica served them."""

from __future__ import annotations

import tracemalloc

from api_server.engines.prefix_index import PrefixIndex, prefix_keys


def test_keys_chain_whole_blocks_so_shared_prefixes_share_keys() -> None:
    first = prefix_keys("a" * 40 + "b" * 8, 16, 100)
    second = prefix_keys("a" * 40 + "c" * 30, 16, 100)
    assert len(first) == 3 and len(second) == 4
    assert first[:2] == second[:2] and first[2] != second[2]
    assert prefix_keys("short", 16, 100) == ()
    assert len(prefix_keys("x" * 1000, 16, 5)) == 5
    # Stable across processes: the value itself, not Python's randomized hash().
    assert prefix_keys("0123456789abcdef", 16, 1) == (0x68C4F033 << 32 | 0x1F6B0463,)


def test_the_longest_held_prefix_names_the_replicas_that_served_it() -> None:
    index = PrefixIndex(100)
    conversation = prefix_keys("system prompt. " * 8 + "turn one", 16, 100)
    index.record(conversation[:5], 0)
    index.record(conversation, 1)  # the next turn went to replica 1
    assert index.longest_match(conversation) == (len(conversation), 0b10)
    assert index.longest_match(conversation[:3]) == (3, 0b11)  # both served these
    other = prefix_keys("system prompt. " * 2 + "something else entirely", 16, 100)
    assert index.longest_match(other) == (1, 0b11)  # only the first block is shared
    assert index.longest_match(prefix_keys("z" * 64, 16, 100)) is None


def test_it_stays_within_its_bound_dropping_the_least_recently_used() -> None:
    index = PrefixIndex(4)
    index.record((1, 2, 3), 0)
    index.record((9,), 1)
    index.record((1, 5), 1)  # refreshes 1; 2 is now the oldest, and goes
    assert len(index) == 4
    assert index.longest_match((1, 2)) == (1, 0b11)
    index.forget_replica(1)
    assert index.longest_match((9,)) is None and index.longest_match((1,)) == (1, 0b01)
    assert len(index) == 2


def test_a_million_distinct_prompts_stay_under_the_memory_bound() -> None:
    entries = 100_000
    index = PrefixIndex(entries)
    for prompt in range(1_000_000):
        index.record((prompt * 3 + 1, prompt * 3 + 2), prompt % 2)
    assert len(index) == entries
    # What an entry costs (an ordered-dict slot and link, a 64-bit int key): ~210 bytes.
    tracemalloc.start()
    try:
        small = PrefixIndex(20_000)
        for prompt in range(30_000):
            small.record((2**63 - prompt,), 0)
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert used < 20_000 * 256, used
