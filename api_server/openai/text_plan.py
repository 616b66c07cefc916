"""What one legacy `/v1/completions` request asks to be generated, checked: its prompts
(a list is a batch: `n` choices for each), `n`, `best_of` (candidates generated per prompt,
the `n` likeliest returned) and `echo` (each prompt repeated before its completion). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from api_server.errors import InvalidRequestError, UnsupportedFeatureError
from api_server.generation.limits import MAX_CHOICES
from api_server.openai.protocol import CompletionRequestIn


@dataclass(frozen=True, slots=True)
class TextCompletionPlan:
    prompts: tuple[str, ...]
    choices: int  # returned per prompt (`n`)
    candidates: int  # generated per prompt (`best_of`, at least `n`)
    echo: bool

    @property
    def generations(self) -> int:
        return len(self.prompts) * self.candidates

    def prompt_of(self, generation: int) -> str:
        """Generations run prompt by prompt: `candidates` of the first prompt, then the next."""
        return self.prompts[generation // self.candidates]


def text_completion_plan(request: CompletionRequestIn) -> TextCompletionPlan:
    if request.suffix is not None:
        raise UnsupportedFeatureError(
            "suffix (fill-in-the-middle) needs a model's own infill tokens around the gap, "
            "and no model here declares them: put the text after the gap in the prompt",
            param="suffix",
        )
    prompts = (request.prompt,) if isinstance(request.prompt, str) else tuple(request.prompt)
    if not prompts:
        raise InvalidRequestError("prompt must not be an empty list", param="prompt")
    choices = request.n or 1
    candidates = request.best_of or choices
    if candidates < choices:
        raise InvalidRequestError(
            f"best_of ({candidates}) must be at least n ({choices})", param="best_of"
        )
    if candidates > choices and request.stream:
        raise InvalidRequestError(
            "best_of cannot be streamed: the best are known only once all have finished",
            param="best_of",
        )
    if len(prompts) * candidates > MAX_CHOICES:
        raise InvalidRequestError(
            f"{len(prompts)} prompts x {candidates} completions each is over {MAX_CHOICES} "
            "generations for one request",
            param="best_of" if candidates > choices else "n",
        )
    if request.echo and request.logprobs is not None:
        raise UnsupportedFeatureError(
            "echo with logprobs would need the prompt's own token logprobs, which the engines "
            "do not return on streamed completions: ask for one or the other",
            param="echo",
        )
    return TextCompletionPlan(prompts, choices, candidates, bool(request.echo))
