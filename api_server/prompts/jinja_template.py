"""Render a model's own Jinja chat template the way Hugging Face transformers does.

Templates come from GGUF metadata or `tokenizer_config.json`, i.e. from whoever published
the model, so they run in jinja2's immutable sandbox. The environment matches transformers'
`apply_chat_template`: trim/lstrip blocks, a `tojson` that keeps key order and does not
HTML-escape, `raise_exception`, `strftime_now`, and `add_generation_prompt=True`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn

import jinja2
import jinja2.ext
import jinja2.nodes
import jinja2.parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

from api_server.chat.conversation import Conversation
from api_server.prompts.base import FormattedPrompt
from api_server.prompts.errors import PromptFormatError
from api_server.prompts.openai_shapes import message_dict, to_json, tool_dict


class ChatTemplateError(PromptFormatError):
    """The chat template does not compile, or refused or failed to render the conversation."""


class _GenerationTag(jinja2.ext.Extension):
    """Accept transformers' `{% generation %}` block (it marks assistant tokens for training
    masks) and render its body unchanged, so templates that use it still compile."""

    tags = {"generation"}

    def parse(self, parser: jinja2.parser.Parser) -> jinja2.nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.Scope(body).set_lineno(lineno)


def _raise_exception(message: str) -> NoReturn:
    raise ChatTemplateError(f"chat template rejected the conversation: {message}")


def _strftime_now(format_string: str) -> str:
    return datetime.now().strftime(format_string)


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[_GenerationTag, jinja2.ext.loopcontrols],
    )
    env.filters["tojson"] = to_json
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


class JinjaChatTemplate:
    """A `PromptFormatter` over one chat template, compiled once when constructed."""

    def __init__(self, template: str, bos_token: str = "", eos_token: str = "") -> None:
        try:
            self._template = _environment().from_string(template)
        except jinja2.TemplateSyntaxError as exc:
            raise ChatTemplateError(
                f"chat template does not compile: {exc} (line {exc.lineno})"
            ) from exc
        self._bos_token = bos_token
        self._eos_token = eos_token

    def render(self, conversation: Conversation, **extra: Any) -> str:
        """The rendered text; `extra` are template variables (`date_string`, ...)."""
        tools = (
            [tool_dict(spec) for spec in conversation.tools] if conversation.offers_tools else None
        )
        try:
            return self._template.render(
                messages=[message_dict(message) for message in conversation.messages],
                tools=tools,
                documents=None,
                add_generation_prompt=True,
                bos_token=self._bos_token,
                eos_token=self._eos_token,
                **extra,
            )
        except ChatTemplateError:
            raise
        # Templates are third-party code: any failure inside one means this conversation
        # does not fit the template, which is the client's problem to fix, not a server fault.
        except Exception as exc:
            raise ChatTemplateError(
                f"chat template failed to render: {type(exc).__name__}: {exc}"
            ) from exc

    def __call__(self, conversation: Conversation) -> FormattedPrompt:
        text = self.render(conversation)
        starts_with_bos = bool(self._bos_token) and text.startswith(self._bos_token)
        stop = (self._eos_token,) if self._eos_token else ()
        return FormattedPrompt(text=text, starts_with_bos=starts_with_bos, stop=stop)
