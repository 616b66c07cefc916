"""Continuing a generation on another replica: what is sent, when it is refused, usage."""

from __future__ import annotations

from api_server.chat.events import Usage
from api_server.chat.sampling import SamplingParams
from api_server.engines.types import CompletionRequest
from api_server.errors import EngineOverloadedError, EngineResponseError, EngineTimeoutError
from api_server.generation.continuation import (
    Progress,
    continued_request,
    continued_usage,
    may_fail_over,
)
from api_server.prompts.base import FormattedPrompt

REQUEST = CompletionRequest(
    prompt=FormattedPrompt("<|im_start|>assistant\n", starts_with_bos=False),
    sampling=SamplingParams(max_tokens=10, temperature=0),
    request_id="r",
)


def _progress(*chunks: str) -> Progress:
    progress = Progress()
    for chunk in chunks:
        progress.add(chunk, 1)
    return progress


def test_before_any_text_the_request_goes_again_as_it_was() -> None:
    assert continued_request(REQUEST, Progress()) is REQUEST
    assert may_fail_over(EngineOverloadedError("busy"), REQUEST, Progress())
    schema = CompletionRequest(REQUEST.prompt, REQUEST.sampling, "r", json_schema={})
    assert may_fail_over(EngineTimeoutError("slow"), schema, Progress())


def test_after_some_text_the_rest_is_asked_for_from_where_it_stopped() -> None:
    progress = _progress("Hello", " wor")
    continued = continued_request(REQUEST, progress)
    assert continued is not None
    assert continued.prompt.text == "<|im_start|>assistant\nHello wor"
    assert continued.sampling.max_tokens == 8 and continued.sampling.temperature == 0
    assert may_fail_over(EngineResponseError("dropped"), REQUEST, progress)
    assert may_fail_over(EngineTimeoutError("stalled"), REQUEST, progress)


def test_schema_held_answers_and_a_spent_budget_are_not_continued() -> None:
    progress = _progress(*["t"] * 10)
    assert continued_request(REQUEST, progress) is None
    schema = CompletionRequest(REQUEST.prompt, REQUEST.sampling, "r", json_schema={})
    assert not may_fail_over(EngineResponseError("dropped"), schema, _progress("{"))


def test_usage_adds_the_text_before_to_what_the_last_engine_counted() -> None:
    progress = _progress("a", "b", "c")
    assert continued_usage(None, progress) == Usage(0, 3)
    assert continued_usage(Usage(7, 3), progress) == Usage(7, 3)  # never failed over
    progress.tokens_before = 3
    progress.add("d", 1)
    assert continued_usage(Usage(10, 1), progress) == Usage(7, 4)
