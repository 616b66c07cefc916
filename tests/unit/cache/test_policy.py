from __future__ import annotations

import pytest

from api_server.cache.policy import CachePolicy, cache_policy
from api_server.chat.sampling import SamplingParams

GREEDY = SamplingParams(max_tokens=16, temperature=0.0)
SEEDED = SamplingParams(max_tokens=16, temperature=0.7, seed=1)
SAMPLED = SamplingParams(max_tokens=16, temperature=0.7)
BOTH, STORE_ONLY, NEITHER = (
    CachePolicy(True, True),
    CachePolicy(False, True),
    CachePolicy(False, False),
)


@pytest.mark.parametrize(
    ("sampling", "requested", "cache_control", "expected"),
    [
        (GREEDY, None, None, BOTH),
        (SEEDED, None, None, BOTH),
        (SAMPLED, None, None, NEITHER),
        (SAMPLED, True, None, BOTH),
        (GREEDY, False, None, NEITHER),
        (GREEDY, None, "no-cache", STORE_ONLY),
        (GREEDY, None, "No-Store", NEITHER),
        (GREEDY, True, "max-age=0, no-store", NEITHER),
        (SAMPLED, None, "no-cache", NEITHER),
        (GREEDY, None, "max-age=60", BOTH),
    ],
)
def test_cache_policy(
    sampling: SamplingParams,
    requested: bool | None,
    cache_control: str | None,
    expected: CachePolicy,
) -> None:
    assert cache_policy(sampling, requested, cache_control) == expected
