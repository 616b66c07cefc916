from __future__ import annotations

import pytest

from api_server.ratelimit import Decision, Dimension
from api_server.ratelimit.headers import format_duration, rate_limit_headers


@pytest.mark.parametrize(
    ("ms", "text"),
    [(0, "0ms"), (250, "250ms"), (1000, "1s"), (1500, "1.5s"), (59_999, "59.999s"),
     (60_000, "1m0s"), (360_000, "6m0s"), (61_250, "1m1.25s")],
)  # fmt: skip
def test_durations_read_like_openai(ms: int, text: str) -> None:
    assert format_duration(ms) == text


def test_only_limited_dimensions_have_headers() -> None:
    decision = Decision(True, Dimension(60, used=1, reset_ms=60_000), Dimension(None))
    assert rate_limit_headers(decision) == {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "59",
        "x-ratelimit-reset-requests": "1m0s",
    }
    assert rate_limit_headers(Decision(True, Dimension(None), Dimension(None))) == {}
