"""What a prompt formatter produces, and the interface every family implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from api_server.chat.conversation import Conversation


@dataclass(frozen=True, slots=True)
class FormattedPrompt:
    """The raw prompt for `/v1/completions`.

    `starts_with_bos` tells the engine client not to add another BOS token.
    `stop` lists end-of-turn strings the engine should stop on (besides its own EOS).
    """

    text: str
    starts_with_bos: bool
    stop: tuple[str, ...] = ()


class PromptFormatter(Protocol):
    """Renders a conversation into the exact text the model family was trained on,
    ending with the opening of the assistant's turn."""

    def __call__(self, conversation: Conversation) -> FormattedPrompt: ...
