"""Log probabilities as engines send them, read into the domain's `TokenLogprob`s. Pure.

Two shapes arrive:
- per token (llama.cpp's `/v1/completions` `logprobs.content` and native
  `completion_probabilities`, OpenAI chat chunks): `{token, logprob, bytes, top_logprobs:
  [{token, logprob, bytes}]}`;
- OpenAI's legacy completions shape (vLLM, MAX Serve): parallel lists `tokens`,
  `token_logprobs` and `top_logprobs` (one `{token: logprob}` map per token). MAX sends
  `tokens: null`: a chunk's one token is then its text, or the alternative with exactly its
  log probability.

Anything malformed is skipped, not fatal: the text it belongs to still reaches the client.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from api_server.chat.events import TokenLogprob, TopLogprob


def parse_token_logprobs(raw: Any) -> tuple[TokenLogprob, ...]:
    """A list of per-token objects."""
    if not isinstance(raw, list):
        return ()
    tokens = []
    for entry in raw:
        token = _top(entry)
        if token is None:
            continue
        alternatives = entry.get("top_logprobs")
        top = tuple(
            alternative
            for alternative in map(_top, alternatives if isinstance(alternatives, list) else ())
            if alternative is not None
        )
        tokens.append(TokenLogprob(token.token, token.logprob, token.bytes, top))
    return tuple(tokens)


def parse_legacy_logprobs(raw: Any, text: str = "") -> tuple[TokenLogprob, ...]:
    """`{tokens, token_logprobs, top_logprobs}` of OpenAI's legacy completions; `text` is
    the chunk's, for an engine that leaves `tokens` out."""
    if not isinstance(raw, dict):
        return ()
    tokens, logprobs = raw.get("tokens"), raw.get("token_logprobs")
    tops = raw.get("top_logprobs")
    if not isinstance(logprobs, list):
        return ()
    tops = tops if isinstance(tops, list) else []
    if tokens is None:
        tokens = _unnamed_tokens(logprobs, tops, text)
    if not isinstance(tokens, list):
        return ()
    parsed = []
    for index, (token, logprob) in enumerate(zip(tokens, logprobs, strict=False)):
        if not isinstance(token, str) or not _is_number(logprob):
            continue
        alternatives = tops[index] if index < len(tops) and isinstance(tops[index], dict) else {}
        top = tuple(
            TopLogprob(text, float(value), _utf8(text))
            for text, value in alternatives.items()
            if isinstance(text, str) and _is_number(value)
        )
        parsed.append(TokenLogprob(token, float(logprob), _utf8(token), top))
    return tuple(parsed)


def _unnamed_tokens(logprobs: list[Any], tops: list[Any], text: str) -> list[str | None]:
    """The tokens an engine did not name: a lone one is the chunk's text; otherwise the
    alternative with exactly the token's log probability (None when there is none)."""
    if len(logprobs) == 1:
        return [text]
    named: list[str | None] = []
    for index, logprob in enumerate(logprobs):
        top = tops[index] if index < len(tops) and isinstance(tops[index], dict) else {}
        named.append(next((token for token, value in top.items() if value == logprob), None))
    return named


def _top(entry: Any) -> TopLogprob | None:
    if not isinstance(entry, dict):
        return None
    token, logprob = entry.get("token"), entry.get("logprob")
    if not isinstance(token, str) or not _is_number(logprob):
        return None
    raw_bytes = entry.get("bytes")
    if isinstance(raw_bytes, list) and all(isinstance(b, int) and 0 <= b < 256 for b in raw_bytes):
        token_bytes: tuple[int, ...] | None = tuple(raw_bytes)
    else:
        token_bytes = _utf8(token)
    return TopLogprob(token, float(logprob), token_bytes)


def _utf8(token: str) -> tuple[int, ...]:
    return tuple(token.encode("utf-8", "surrogatepass"))


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
