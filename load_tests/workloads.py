"""Workloads with controlled shapes, beside the dataset scenarios (`prompts.py`): what a
benchmark sends when its runs must be comparable.

- `synthetic`: prompts of a chosen length (`Length`: fixed, uniform or normal) and answers
  of a chosen length (`max_tokens`, with `ignore_eos` so that the engine does not stop
  early where it supports it);
- `shared-prefix`: the same as synthetic behind one of `groups` long shared prefixes (a
  system prompt), which engines and prefix-aware routing can reuse;
- `multi-turn`: conversations of `turns` turns, each turn resending the history with the
  model's answers so far (`ConversationPool`);
- `replay`: the chat requests of a recording (the interceptors' JSONL, or plain
  `{"messages": [...], "max_tokens": N}` lines), optionally at their recorded times.

Lengths are counted in words drawn from a vocabulary of short common English words, each
one token (with its leading space) for the usual BPE tokenizers, so N words come to about
N tokens; the report shows the prompt tokens the server counted, which is what was sent.
Pure: no locust import (it patches the standard library), seeded `random.Random` in.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

Message = dict[str, Any]

WORKLOADS = ("synthetic", "shared-prefix", "multi-turn", "replay")
CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
_NOT_A_LENGTH = "not a length: {!r} (fixed:N, uniform:LOW:HIGH, normal:MEAN:SD)"
# Short, frequent English words, each a single token after a space for SmolLM2's tokenizer
# (checked against llama.cpp's /tokenize: 500 words of them made 503 tokens) and for most
# BPE vocabularies, so a prompt's length in words is about its length in tokens.
VOCABULARY = tuple(
    dict.fromkeys((Path(__file__).parent / "data" / "vocabulary.txt").read_text().split())
)


@dataclass(frozen=True)
class Length:
    """A length distribution: `fixed:N` (or just N), `uniform:LOW:HIGH`, `normal:MEAN:SD`
    (rounded, at least 1)."""

    kind: Literal["fixed", "uniform", "normal"]
    first: float
    second: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Length:
        parts = text.strip().split(":")
        try:
            numbers = [float(part) for part in parts[1:]] if len(parts) > 1 else [float(parts[0])]
        except ValueError:
            raise ValueError(_NOT_A_LENGTH.format(text)) from None
        kind = parts[0] if len(parts) > 1 else "fixed"
        if kind == "fixed" and len(numbers) == 1 and numbers[0] >= 1:
            return cls("fixed", numbers[0])
        if kind == "uniform" and len(numbers) == 2 and 1 <= numbers[0] <= numbers[1]:
            return cls("uniform", numbers[0], numbers[1])
        if kind == "normal" and len(numbers) == 2 and numbers[0] >= 1 and numbers[1] >= 0:
            return cls("normal", numbers[0], numbers[1])
        raise ValueError(_NOT_A_LENGTH.format(text))

    def sample(self, rng: random.Random) -> int:
        if self.kind == "fixed":
            return round(self.first)
        if self.kind == "uniform":
            return rng.randint(round(self.first), round(self.second))
        return max(1, round(rng.gauss(self.first, self.second)))

    @property
    def mean(self) -> float:
        return (self.first + self.second) / 2 if self.kind == "uniform" else self.first

    def __str__(self) -> str:
        if self.kind == "fixed":
            return f"fixed:{self.first:g}"
        return f"{self.kind}:{self.first:g}:{self.second:g}"


@dataclass(frozen=True)
class PlannedRequest:
    """One chat request a workload wants sent. `conversation`: the multi-turn conversation
    it belongs to (its answer must be handed back); `at_s`: a replay's recorded send time,
    from the recording's first request."""

    messages: list[Message]
    max_tokens: int | None
    ignore_eos: bool = False
    conversation: int | None = None
    at_s: float | None = None

    def body(self, model: str, stream: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "messages": self.messages, "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.ignore_eos:
            body["ignore_eos"] = True
        return body


def words(count: int, rng: random.Random) -> str:
    return " ".join(rng.choices(VOCABULARY, k=count))


@dataclass
class Synthetic:
    """Prompts of `input_len` words, answers of `output_len` tokens. Each prompt opens with
    a serial number so that no cache (the gateway's, the engine's prefix cache) answers it,
    unless behind a shared prefix (`prefix_len` words, one of `groups` prefixes)."""

    input_len: Length
    output_len: Length
    ignore_eos: bool = True
    prefix_len: int = 0
    groups: int = 1
    rng: random.Random = field(default_factory=random.Random)
    _serial: Iterator[int] = field(default_factory=itertools.count)
    _prefixes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.prefix_len:
            self._prefixes = [
                f"Instructions {group}: " + words(self.prefix_len, random.Random(group))
                for group in range(max(self.groups, 1))
            ]

    def next(self) -> PlannedRequest:
        serial = next(self._serial)
        text = f"Request {serial}: " + words(self.input_len.sample(self.rng), self.rng)
        messages: list[Message] = []
        if self._prefixes:
            prefix = self._prefixes[serial % len(self._prefixes)]
            messages.append({"role": "system", "content": prefix})
        messages.append({"role": "user", "content": text})
        return PlannedRequest(messages, self.output_len.sample(self.rng), self.ignore_eos)


@dataclass
class _Conversation:
    number: int
    messages: list[Message]
    turns_done: int = 0
    waiting: bool = False  # a turn was sent and its answer has not come back


@dataclass
class ConversationPool:
    """Multi-turn conversations for any arrival process: each request is the next turn of a
    conversation whose last answer has come back, or the first turn of a new one when none
    is free, so the request rate stays what the arrivals say while every conversation
    stays in order. A conversation ends after `turns` turns."""

    turns: int
    input_len: Length
    output_len: Length
    ignore_eos: bool = True
    rng: random.Random = field(default_factory=random.Random)
    _numbers: Iterator[int] = field(default_factory=itertools.count)
    _open: dict[int, _Conversation] = field(default_factory=dict)

    def next(self) -> PlannedRequest:
        free = next((c for c in self._open.values() if not c.waiting), None)
        if free is None:
            number = next(self._numbers)
            opening = f"Conversation {number}. You are a helpful assistant."
            free = _Conversation(number, [{"role": "system", "content": opening}])
            self._open[number] = free
        question = words(self.input_len.sample(self.rng), self.rng) + "?"
        free.messages.append({"role": "user", "content": question})
        free.waiting = True
        return PlannedRequest(
            [dict(message) for message in free.messages],
            self.output_len.sample(self.rng),
            self.ignore_eos,
            conversation=free.number,
        )

    def answered(self, conversation: int, text: str | None) -> None:
        """The answer to `conversation`'s last turn (None: it failed, and the conversation
        is dropped: its history would not be what a client resends)."""
        chat = self._open.get(conversation)
        if chat is None:
            return
        chat.turns_done += 1
        if text is None or chat.turns_done >= self.turns:
            del self._open[conversation]
            return
        chat.messages.append({"role": "assistant", "content": text})
        chat.waiting = False

    @property
    def open_conversations(self) -> int:
        return len(self._open)


def read_replay(path: Path, limit: int = 100_000) -> list[PlannedRequest]:
    """The chat requests of `path`, in file order, at most `limit`: lines that are the
    interceptors' recorded exchanges (their OpenAI-style chat requests; others skipped) or
    plain request bodies with `messages`. `at_s` from the recorded times, where there are."""
    planned: list[PlannedRequest] = []
    first_time: datetime | None = None
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: not JSON: {exc}") from None
            body, sent_at = _chat_body(row)
            if body is None:
                continue
            at_s = None
            if sent_at is not None:
                first_time = first_time or sent_at
                at_s = (sent_at - first_time).total_seconds()
            max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
            planned.append(
                PlannedRequest(
                    messages=body["messages"],
                    max_tokens=int(max_tokens) if max_tokens else None,
                    ignore_eos=bool(body.get("ignore_eos", False)),
                    at_s=at_s,
                )
            )
            if len(planned) >= limit:
                break
    if not planned:
        raise ValueError(f"{path}: no chat requests to replay")
    return planned


def _chat_body(row: Any) -> tuple[dict[str, Any] | None, datetime | None]:
    """A line's chat request and when it was sent (None, None: not a chat request)."""
    if not isinstance(row, dict):
        return None, None
    if "request_body" in row and "path" in row:  # an interceptor's recorded exchange
        if not str(row["path"]).endswith(CHAT_PATHS) or row.get("request_truncated"):
            return None, None
        raw = row["request_body"]
        if row.get("request_body_encoding") == "base64":
            raw = base64.b64decode(raw).decode("utf-8", "replace")
        try:
            body = json.loads(raw)
        except ValueError:
            return None, None
        sent_at = datetime.fromisoformat(row["time"]) if row.get("time") else None
    else:
        body, sent_at = row, None
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return None, None
    return body, sent_at
