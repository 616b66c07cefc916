"""Llama 3.1 / 3.3 instruct prompts, transcribed from the official Hugging Face chat template
of Llama-3.1-8B-Instruct (Llama-3.3-70B-Instruct ships the same template).

The template's quirks are kept on purpose, because they are what the model was tuned on:
message text is stripped, tool results are always JSON-encoded (a string is `iterable` in
Jinja), and only one tool call per assistant turn is allowed. `<|eom_id|>` and
`<|python_tag|>` appear only with built-in tools (code_interpreter, brave_search), which the
gateway does not offer, so rendered tool calls end with `<|eot_id|>` as the template does.
"""

from __future__ import annotations

from api_server.chat.conversation import ChatMessage, Conversation
from api_server.prompts.base import FormattedPrompt, PromptFormatter
from api_server.prompts.errors import PromptFormatError
from api_server.prompts.openai_shapes import parse_arguments, to_json, tool_dict

DEFAULT_DATE_STRING = "26 Jul 2024"

_STOP = ("<|eot_id|>", "<|eom_id|>")
_FORMAT_HINT = (
    'Respond in the format {"name": function name, "parameters": dictionary of argument '
    "name and its value}.Do not use variables.\n\n"
)
_USER_TOOLS_INTRO = (
    "Given the following functions, please respond with a JSON for a function call "
    "with its proper arguments that best answers the given prompt.\n\n" + _FORMAT_HINT
)
_SYSTEM_TOOLS_INTRO = (
    "You have access to the following functions. To call a function, please respond "
    "with JSON for a function call." + _FORMAT_HINT
)


def _header(role: str) -> str:
    return f"<|start_header_id|>{role}<|end_header_id|>\n\n"


def _tool_list(conversation: Conversation) -> str:
    return "".join(to_json(tool_dict(spec), indent=4) + "\n\n" for spec in conversation.tools)


def _turn(message: ChatMessage) -> str:
    if message.role == "tool":
        return _header("ipython") + to_json(message.content or "") + "<|eot_id|>"
    if message.tool_calls:
        if len(message.tool_calls) != 1:
            raise PromptFormatError("Llama 3.1 only supports one tool call per assistant turn")
        call = message.tool_calls[0]
        arguments = to_json(parse_arguments(call.arguments))
        body = f'{{"name": "{call.name}", "parameters": {arguments}}}'
        return _header("assistant") + body + "<|eot_id|>"
    return _header(message.role) + (message.content or "").strip() + "<|eot_id|>"


def format_llama3_prompt(
    conversation: Conversation,
    *,
    date_string: str = DEFAULT_DATE_STRING,
    tools_in_user_message: bool = True,
) -> FormattedPrompt:
    messages = conversation.messages
    system_message = ""
    if messages and messages[0].role == "system":
        system_message = (messages[0].content or "").strip()
        messages = messages[1:]
    tools = conversation.offers_tools

    text = "<|begin_of_text|>" + _header("system")
    if tools:
        text += "Environment: ipython\n"
    text += f"Cutting Knowledge Date: December 2023\nToday Date: {date_string}\n\n"
    if tools and not tools_in_user_message:
        text += _SYSTEM_TOOLS_INTRO + _tool_list(conversation)
    text += system_message + "<|eot_id|>"

    if tools and tools_in_user_message:
        if not messages:
            raise PromptFormatError(
                "Llama 3.1 puts tools in the first user message, and there is none"
            )
        first_user = (messages[0].content or "").strip()
        messages = messages[1:]
        text += _header("user") + _USER_TOOLS_INTRO + _tool_list(conversation)
        text += first_user + "<|eot_id|>"

    text += "".join(_turn(message) for message in messages) + _header("assistant")
    return FormattedPrompt(text=text, starts_with_bos=True, stop=_STOP)


def make_llama3_formatter(
    date_string: str = DEFAULT_DATE_STRING, *, tools_in_user_message: bool = True
) -> PromptFormatter:
    """A Llama 3 formatter with a fixed `Today Date`, so prompts (and prefix caches) are stable."""

    def format_prompt(conversation: Conversation) -> FormattedPrompt:
        return format_llama3_prompt(
            conversation, date_string=date_string, tools_in_user_message=tools_in_user_message
        )

    return format_prompt
