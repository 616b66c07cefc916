"""Mistral instruct prompts for tokenizer versions v3, v7 and v13, as mistral-common renders them.

mistral-common first normalises the request (consecutive messages of one role merge, system
prompts move, JSON is re-serialised), then encodes each message. Both steps are mirrored here.
Where each version puts things:
- v3: all system prompts join into the last user message; tools sit before the last user turn.
- v7: system prompts stay in place as `[SYSTEM_PROMPT]`; tools before the last user turn;
  tool results carry the call id (`[TOOL_RESULTS]id[TOOL_CONTENT]...`).
- v13 (Devstral-Small-2507): tools before the first user turn; calls are `[TOOL_CALLS]name[ARGS]{}`
  and ids are no longer rendered.
`sentencepiece=True` renders the dummy-prefix space SentencePiece tokenizers (Mistral-7B-v0.3,
Mistral-Large-2411) add to every text segment; Tekken tokenizers (Nemo, Small 3, Devstral) add none.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from api_server.chat.conversation import ChatMessage, Conversation, Role, ToolCall, ToolSpec
from api_server.prompts.base import FormattedPrompt, PromptFormatter
from api_server.prompts.errors import PromptFormatError
from api_server.prompts.openai_shapes import parse_arguments
from api_server.prompts.tool_ids import to_mistral_call_id

MistralVersion = Literal["v3", "v7", "v13"]

_STOP = ("</s>",)


@dataclass(frozen=True, slots=True)
class _Turn:
    """A message after mistral-common's normalisation; ids are already Mistral ids."""

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""


def _json_or_empty(text: str | None) -> Any:
    """mistral-common's JSON normalisation: empty means `{}`, non-JSON stays a string."""
    return parse_arguments(text) if text else {}


def _merge(messages: Sequence[ChatMessage]) -> str:
    return "\n\n".join(message.content for message in messages if message.content)


def _merged_assistant(messages: Sequence[ChatMessage]) -> _Turn:
    calls = tuple(
        ToolCall(to_mistral_call_id(call.id), call.name, call.arguments)
        for message in messages
        for call in message.tool_calls
    )
    return _Turn("assistant", _merge(messages), calls)


def _tool_turns(
    messages: Sequence[ChatMessage], version: MistralVersion, order: list[str]
) -> list[_Turn]:
    turns = [
        _Turn(
            "tool",
            message.content or "",
            tool_call_id=to_mistral_call_id(message.tool_call_id or ""),
        )
        for message in messages
    ]
    if version == "v13":
        # v13 no longer renders ids, so results are put in the order of the calls instead.
        rank = {call_id: index for index, call_id in enumerate(order)}
        turns.sort(key=lambda turn: rank.get(turn.tool_call_id, len(rank)))
    return turns


def _normalise(
    conversation: Conversation, version: MistralVersion
) -> tuple[list[_Turn], str | None]:
    turns: list[_Turn] = []
    system_prompts: list[str] = []
    call_order: list[str] = []
    for role, group in itertools.groupby(conversation.messages, key=lambda m: m.role):
        messages = list(group)
        if role == "system" and version == "v3":
            system_prompts.extend(m.content for m in messages if m.content)
        elif role == "system":
            turns.extend(_Turn("system", m.content or "") for m in messages)
        elif role == "user":
            turns.append(_Turn("user", _merge(messages)))
        elif role == "assistant":
            turns.append(_merged_assistant(messages))
            call_order.extend(call.id for call in turns[-1].tool_calls)
        else:
            turns.extend(_tool_turns(messages, version, call_order))
            call_order.clear()
    # v3 cannot start with anything but a user turn; mistral-common inserts an empty one.
    if not turns or (version == "v3" and turns[0].role != "user"):
        turns.insert(0, _Turn("user"))
    system_prompt = "\n\n".join(system_prompts) if system_prompts else None
    return turns, system_prompt


def _tools_json(tools: tuple[ToolSpec, ...]) -> str:
    specs = [
        {
            "type": "function",
            "function": {
                "name": t.name,
                "description": t.description or "",
                "parameters": t.parameters,
            },
        }
        for t in tools
    ]
    return json.dumps(specs, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class _Renderer:
    version: MistralVersion
    sentencepiece: bool

    def seg(self, text: str) -> str:
        """One separately tokenised text segment."""
        return " " + text if self.sentencepiece and text else text

    def tool_calls(self, calls: tuple[ToolCall, ...]) -> str:
        if self.version == "v13":
            return "".join(
                f"[TOOL_CALLS]{self.seg(call.name)}[ARGS]"
                + self.seg(json.dumps(_json_or_empty(call.arguments), ensure_ascii=False))
                for call in calls
            )
        prepared = [
            {"name": call.name, "arguments": _json_or_empty(call.arguments), "id": call.id}
            for call in calls
        ]
        return "[TOOL_CALLS]" + self.seg(json.dumps(prepared, ensure_ascii=False))

    def assistant(self, turn: _Turn) -> str:
        if not turn.content and not turn.tool_calls:
            raise PromptFormatError("an assistant message needs content or tool calls")
        if self.version == "v3" and turn.content and turn.tool_calls:
            raise PromptFormatError(
                "Mistral v3 cannot render content and tool calls in one message"
            )
        text = self.seg(turn.content.rstrip(" ")) if turn.content else ""
        if turn.tool_calls:
            text += self.tool_calls(turn.tool_calls)
        return text + "</s>"

    def tool_result(self, turn: _Turn) -> str:
        if self.version == "v3":
            result = {"content": _json_or_empty(turn.content), "call_id": turn.tool_call_id}
            body = self.seg(json.dumps(result, ensure_ascii=False))
        elif self.version == "v7":
            body = self.seg(turn.tool_call_id) + "[TOOL_CONTENT]" + self.seg(turn.content)
        else:
            body = self.seg(turn.content)
        return f"[TOOL_RESULTS]{body}[/TOOL_RESULTS]"

    def render(self, conversation: Conversation) -> str:
        turns, system_prompt = _normalise(conversation, self.version)
        user_indexes = [i for i, turn in enumerate(turns) if turn.role == "user"] or [-1]
        tools_at = user_indexes[0] if self.version == "v13" else user_indexes[-1]
        parts = ["<s>"]
        for index, turn in enumerate(turns):
            if turn.role == "user":
                if index == tools_at and conversation.offers_tools:
                    tools = self.seg(_tools_json(conversation.tools))
                    parts.append(f"[AVAILABLE_TOOLS]{tools}[/AVAILABLE_TOOLS]")
                content = turn.content
                if system_prompt and index == user_indexes[-1]:
                    content = system_prompt + "\n\n" + content
                parts.append(f"[INST]{self.seg(content)}[/INST]")
            elif turn.role == "system":
                parts.append(f"[SYSTEM_PROMPT]{self.seg(turn.content)}[/SYSTEM_PROMPT]")
            elif turn.role == "assistant":
                parts.append(self.assistant(turn))
            else:
                parts.append(self.tool_result(turn))
        return "".join(parts)


def format_mistral_prompt(
    conversation: Conversation, *, version: MistralVersion, sentencepiece: bool = False
) -> FormattedPrompt:
    text = _Renderer(version, sentencepiece).render(conversation)
    return FormattedPrompt(text=text, starts_with_bos=True, stop=_STOP)


def make_mistral_formatter(
    version: MistralVersion, *, sentencepiece: bool = False
) -> PromptFormatter:
    def format_prompt(conversation: Conversation) -> FormattedPrompt:
        return format_mistral_prompt(conversation, version=version, sentencepiece=sentencepiece)

    return format_prompt
