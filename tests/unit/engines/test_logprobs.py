"""Engines' two shapes of log probabilities, read into TokenLogprobs; malformed parts skipped."""

from __future__ import annotations

from typing import Any

import pytest

from api_server.chat.events import TokenLogprob, TopLogprob
from api_server.engines.logprobs import parse_legacy_logprobs, parse_token_logprobs

PARIS = TokenLogprob(
    " Paris",
    -0.25,
    (32, 80, 97, 114, 105, 115),
    (TopLogprob(" Paris", -0.25, (32, 80, 97, 114, 105, 115)), TopLogprob(" the", -2.5, None)),
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            [
                {
                    "id": 7042,
                    "token": " Paris",
                    "bytes": [32, 80, 97, 114, 105, 115],
                    "logprob": -0.25,
                    "top_logprobs": [
                        {"token": " Paris", "bytes": [32, 80, 97, 114, 105, 115], "logprob": -0.25},
                        {"token": " the", "bytes": None, "logprob": -2.5},
                        {"token": 3, "logprob": -3.0},  # not a token: skipped
                    ],
                }
            ],
            (
                TokenLogprob(
                    " Paris",
                    -0.25,
                    (32, 80, 97, 114, 105, 115),
                    (
                        TopLogprob(" Paris", -0.25, (32, 80, 97, 114, 105, 115)),
                        TopLogprob(" the", -2.5, (32, 116, 104, 101)),  # bytes from the text
                    ),
                ),
            ),
        ),
        ([{"token": "é", "logprob": -1}], (TokenLogprob("é", -1.0, (195, 169)),)),
        ([{"token": "x", "logprob": "low"}, {"logprob": -1}, "junk"], ()),
        (None, ()),
        ({"content": []}, ()),
    ],
)
def test_per_token_logprobs(raw: Any, expected: tuple[TokenLogprob, ...]) -> None:
    assert parse_token_logprobs(raw) == expected


def test_legacy_logprobs() -> None:
    raw = {
        "tokens": [" Paris", "."],
        "token_logprobs": [-0.25, -0.5],
        "top_logprobs": [{" Paris": -0.25, " the": -2.5}, None],
        "text_offset": [0, 6],
    }
    assert parse_legacy_logprobs(raw) == (
        TokenLogprob(
            " Paris",
            -0.25,
            (32, 80, 97, 114, 105, 115),
            (
                TopLogprob(" Paris", -0.25, (32, 80, 97, 114, 105, 115)),
                TopLogprob(" the", -2.5, (32, 116, 104, 101)),
            ),
        ),
        TokenLogprob(".", -0.5, (46,)),
    )
    assert parse_legacy_logprobs({"tokens": ["a"]}) == ()
    assert parse_legacy_logprobs(["a"]) == ()


def test_tokens_max_serve_leaves_unnamed() -> None:
    """MAX sends `tokens: null`: a chunk's lone token is its text; of several, each is the
    alternative with exactly its logprob (or, without one, left out)."""
    one = {"tokens": None, "token_logprobs": [-0.25], "top_logprobs": [{" Paris": -0.25}]}
    assert [t.token for t in parse_legacy_logprobs(one, " Paris")] == [" Paris"]
    several = {
        "tokens": None,
        "token_logprobs": [-0.25, -0.5, -9.0],
        "top_logprobs": [{" Paris": -0.25, " the": -2.0}, {".": -0.5}, {"x": -1.0}],
        "text_offset": None,
    }
    assert [t.token for t in parse_legacy_logprobs(several, " Paris.?")] == [" Paris", "."]
