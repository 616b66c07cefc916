"""ChatML prompts (SmolLM2, Qwen2.5 and other `<|im_start|>` models).

Without tools the output equals SmolLM2-135M-Instruct's own template; with tools it follows
the Qwen2.5 template (Hermes-style `<tools>` block, `<tool_call>` and `<tool_response>`).
Both templates differ only in the default system prompt, which is therefore a parameter.
"""

from __future__ import annotations

from api_server.chat.conversation import ChatMessage, Conversation
from api_server.prompts.base import FormattedPrompt, PromptFormatter
from api_server.prompts.openai_shapes import parse_arguments, to_json, tool_dict

SMOLLM2_DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

_STOP = ("<|im_end|>",)

_TOOLS_INTRO = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
)
_TOOLS_OUTRO = (
    "\n</tools>\n\nFor each function call, return a json object with function name and "
    "arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)


def _system_turn(conversation: Conversation, system: str | None) -> str:
    if conversation.offers_tools:
        tools = "".join("\n" + to_json(tool_dict(spec)) for spec in conversation.tools)
        # Qwen3's template drops the system text (and its separator) when there is none.
        preamble = "" if system is None else system + "\n\n"
        return f"<|im_start|>system\n{preamble}{_TOOLS_INTRO}{tools}{_TOOLS_OUTRO}<|im_end|>\n"
    if system is None:
        return ""
    return f"<|im_start|>system\n{system}<|im_end|>\n"


def _assistant_with_calls(message: ChatMessage) -> str:
    text = "<|im_start|>assistant"
    if message.content:
        text += "\n" + message.content
    for call in message.tool_calls:
        arguments = to_json(parse_arguments(call.arguments))
        text += f'\n<tool_call>\n{{"name": "{call.name}", "arguments": {arguments}}}\n</tool_call>'
    return text + "<|im_end|>\n"


def _turns(messages: tuple[ChatMessage, ...]) -> str:
    parts: list[str] = []
    for index, message in enumerate(messages):
        if message.role == "tool":
            # Consecutive tool results share one user turn, as in the Qwen2.5 template.
            opens = index == 0 or messages[index - 1].role != "tool"
            closes = index == len(messages) - 1 or messages[index + 1].role != "tool"
            parts.append("<|im_start|>user" if opens else "")
            parts.append(f"\n<tool_response>\n{message.content or ''}\n</tool_response>")
            parts.append("<|im_end|>\n" if closes else "")
        elif message.role == "assistant" and message.tool_calls:
            parts.append(_assistant_with_calls(message))
        else:
            parts.append(f"<|im_start|>{message.role}\n{message.content or ''}<|im_end|>\n")
    return "".join(parts)


def format_chatml_prompt(
    conversation: Conversation, *, default_system: str | None = None
) -> FormattedPrompt:
    messages = conversation.messages
    system = default_system
    if messages and messages[0].role == "system":
        system = messages[0].content or ""
        messages = messages[1:]
    text = _system_turn(conversation, system) + _turns(messages) + "<|im_start|>assistant\n"
    return FormattedPrompt(text=text, starts_with_bos=False, stop=_STOP)


def make_chatml_formatter(default_system: str | None) -> PromptFormatter:
    """A ChatML formatter that inserts `default_system` when the client sends no system message."""

    def format_prompt(conversation: Conversation) -> FormattedPrompt:
        return format_chatml_prompt(conversation, default_system=default_system)

    return format_prompt
