"""Prompt formatting: render a `Conversation` into the raw text a model family was trained on."""

from __future__ import annotations

from api_server.prompts.base import FormattedPrompt, PromptFormatter
from api_server.prompts.chatml import format_chatml_prompt, make_chatml_formatter
from api_server.prompts.errors import PromptFormatError
from api_server.prompts.jinja_template import ChatTemplateError, JinjaChatTemplate
from api_server.prompts.llama3 import format_llama3_prompt, make_llama3_formatter
from api_server.prompts.mistral import make_mistral_formatter

PROMPT_FAMILIES = ("chatml", "llama3", "mistral-v3", "mistral-v7", "mistral-v13", "jinja")

__all__ = [
    "PROMPT_FAMILIES",
    "ChatTemplateError",
    "FormattedPrompt",
    "JinjaChatTemplate",
    "PromptFormatError",
    "PromptFormatter",
    "build_formatter",
    "format_chatml_prompt",
    "format_llama3_prompt",
]


def build_formatter(
    family: str,
    *,
    default_system: str | None = None,
    chat_template: str | None = None,
    bos_token: str = "",
    eos_token: str = "",
) -> PromptFormatter:
    """The formatter for a model registry entry; unknown families and a missing template
    for "jinja" raise `ValueError` so a bad registry fails at startup."""
    if family == "chatml":
        return make_chatml_formatter(default_system)
    if family == "llama3":
        return make_llama3_formatter()
    if family == "mistral-v3":
        return make_mistral_formatter("v3")
    if family == "mistral-v7":
        return make_mistral_formatter("v7")
    if family == "mistral-v13":
        return make_mistral_formatter("v13")
    if family == "jinja":
        if chat_template is None:
            raise ValueError('prompt family "jinja" needs a chat_template')
        return JinjaChatTemplate(chat_template, bos_token=bos_token, eos_token=eos_token)
    raise ValueError(f"unknown prompt family {family!r}; valid: {', '.join(PROMPT_FAMILIES)}")
