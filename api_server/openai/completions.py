"""Render raw-prompt completions as OpenAI `text_completion` objects and chunks."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from api_server.chat.events import ChatEvent, Finished, Logprobs, TextDelta, TokenLogprob
from api_server.frontdoor.choices import ChoiceEvent, summed_usage
from api_server.openai.render import (
    SSE_DONE,
    new_completion_id,
    sse,
    usage_dict,
    with_usage,
)
from api_server.openai.text_plan import TextCompletionPlan


def legacy_logprobs(
    tokens: Sequence[TokenLogprob], top_logprobs: int, text_offset: int
) -> dict[str, Any]:
    """The completions API's logprobs: parallel lists, each alternative set a
    `{token: logprob}` map, and each token's offset in the text (counted from
    `text_offset`, where these tokens start)."""
    offsets = []
    for token in tokens:
        offsets.append(text_offset)
        text_offset += len(token.token)
    return {
        "tokens": [token.token for token in tokens],
        "token_logprobs": [token.logprob for token in tokens],
        "top_logprobs": [
            {
                top.token: top.logprob
                for top in sorted(token.top, key=lambda top: -top.logprob)[:top_logprobs]
            }
            for token in tokens
        ],
        "text_offset": offsets,
    }


class _ChoiceText:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix  # the echoed prompt, sent before the first text
        self.text: list[str] = []
        self.logprobs: list[TokenLogprob] = []  # all of them (JSON), or the next text's
        self.offset = 0  # characters of text already streamed
        self.finished: Finished | None = None

    @property
    def mean_logprob(self) -> float:
        """How likely the completion is, per token (best_of ranks by it)."""
        if not self.logprobs:
            return 0.0
        return sum(token.logprob for token in self.logprobs) / len(self.logprobs)


class TextCompletionState:
    """One `text_completion` of the plan's generations (their events told apart by
    `choice`). `top_logprobs`: the request's `logprobs` (None: none asked for, and any the
    engine sent, for best_of's ranking, are left out)."""

    def __init__(
        self,
        model: str,
        include_usage: bool,
        top_logprobs: int | None,
        plan: TextCompletionPlan,
    ) -> None:
        self.id = new_completion_id("cmpl")
        self.created = int(time.time())
        self.model = model
        self.include_usage = include_usage
        self.top_logprobs = top_logprobs
        self.plan = plan
        self.choices = [
            _ChoiceText(plan.prompt_of(g) if plan.echo else "") for g in range(plan.generations)
        ]
        self._finished = 0

    def _object(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": choices,
        }

    def _choice(self, index: int, text: str, finish_reason: str | None) -> dict[str, Any]:
        return {
            "index": index,
            "text": text,
            "logprobs": self._take_logprobs(index),
            "finish_reason": finish_reason,
        }

    def add(self, event: ChatEvent, choice: int = 0) -> None:
        state = self.choices[choice]
        if isinstance(event, TextDelta):
            state.text.append(event.text)
        elif isinstance(event, Logprobs):
            state.logprobs.extend(event.tokens)
        elif isinstance(event, Finished):
            state.finished = event

    def result(self) -> dict[str, Any]:
        """Every prompt's `n` choices: all its generations, or (best_of) its likeliest."""
        finished = [state.finished for state in self.choices]
        assert all(finished), "the generation ended without Finished"
        plan = self.plan
        kept: list[int] = []
        for first in range(0, plan.generations, plan.candidates):
            candidates = range(first, first + plan.candidates)
            likeliest = sorted(candidates, key=lambda g: -self.choices[g].mean_logprob)
            kept.extend(sorted(likeliest[: plan.choices]))
        body = self._object(
            [
                self._choice(generation, self._full_text(generation), self._reason(generation))
                for generation in kept
            ]
        )
        for index, choice in enumerate(body["choices"]):
            choice["index"] = index
        # Every generation's tokens count, the ones best_of left out too (as OpenAI bills).
        body["usage"] = usage_dict(
            summed_usage([f.usage for f in finished if f is not None], per_prompt=plan.candidates)
        )
        return body

    def _full_text(self, generation: int) -> str:
        state = self.choices[generation]
        return state.prefix + "".join(state.text)

    def _reason(self, generation: int) -> str | None:
        finished = self.choices[generation].finished
        return finished.reason if finished is not None else None

    def render_choice(self, choice_event: ChoiceEvent) -> bytes:
        return self.render(choice_event.event, choice_event.index)

    def render(self, event: ChatEvent, choice: int = 0) -> bytes:
        state = self.choices[choice]
        if isinstance(event, Logprobs):
            state.logprobs.extend(event.tokens)
            return b""
        if isinstance(event, TextDelta):
            return self._chunk(choice, event.text, None)
        if isinstance(event, Finished):
            state.finished = event
            self._finished += 1
            closing = self._chunk(choice, "", event.reason)
            if self._finished < len(self.choices):
                return closing
            if self.include_usage:
                usages = [s.finished.usage for s in self.choices if s.finished is not None]
                usage = summed_usage(usages, per_prompt=self.plan.candidates)
                closing += sse(with_usage(self._object([]), usage))
            return closing + SSE_DONE
        return b""

    def _chunk(self, choice: int, text: str, finish_reason: str | None) -> bytes:
        state = self.choices[choice]
        text, state.prefix = state.prefix + text, ""  # the echo, once, before the first text
        payload = self._object([self._choice(choice, text, finish_reason)])
        state.offset += len(text)
        if self.include_usage:
            payload["usage"] = None  # as OpenAI: every chunk but the last carries null
        return sse(payload)

    def _take_logprobs(self, choice: int) -> dict[str, Any] | None:
        if self.top_logprobs is None:
            return None
        state = self.choices[choice]
        logprobs = legacy_logprobs(state.logprobs, self.top_logprobs, state.offset)
        state.logprobs = []
        return logprobs
