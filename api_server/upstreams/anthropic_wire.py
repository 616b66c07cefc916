"""The gateway's chat domain to an Anthropic Messages request, and that API's stream
events back to chat events. Pure."""

from __future__ import annotations

import json
from typing import Any

from api_server.chat.conversation import ChatMessage, Conversation, ImageInput, NamedToolChoice
from api_server.chat.events import (
    ChatEvent,
    Finished,
    FinishReason,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
)
from api_server.chat.sampling import SamplingParams
from api_server.errors import EngineOverloadedError, EngineResponseError, UnsupportedFeatureError

# Anthropic's stop_reason as ours.
_FINISH_REASONS: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
}


def finish_reason(anthropic_stop_reason: str | None) -> FinishReason:
    """Ours for an Anthropic reply's stop_reason ("pause_turn", "refusal" and unknown
    reasons end the turn)."""
    return _FINISH_REASONS.get(anthropic_stop_reason or "", "stop")


def anthropic_messages_body(
    conversation: Conversation, sampling: SamplingParams, model: str
) -> dict[str, Any]:
    """A streaming Messages request. System messages become `system`; tool results become
    `tool_result` blocks at the head of the next user turn, as the API requires; seed and
    penalties have no Anthropic field and are left out."""
    if sampling.output_format is not None:
        raise UnsupportedFeatureError(
            f"{sampling.output_format.param} cannot be enforced for model {model}: its "
            "Anthropic-style "
            "upstream has no structured output in its Messages API; use tools",
            param=sampling.output_format.param,
        )
    if sampling.logprobs is not None:
        raise UnsupportedFeatureError(
            f"logprobs are not available for model {model}: its Anthropic-style upstream "
            "returns none",
            param="logprobs",
        )
    if sampling.ignore_eos:
        raise UnsupportedFeatureError(
            f"ignore_eos is not available for model {model}: its Anthropic-style upstream "
            "has no such setting",
            param="ignore_eos",
        )
    system = [m.content for m in conversation.messages if m.role == "system" and m.content]
    body: dict[str, Any] = {
        "model": model,
        "messages": _turns(conversation.messages),
        "max_tokens": sampling.max_tokens,
        "stream": True,
    }
    if system:
        body["system"] = "\n\n".join(system)
    optional = {
        # Anthropic's range is 0-1, OpenAI's 0-2: a hotter request gets Anthropic's hottest.
        "temperature": None if sampling.temperature is None else min(sampling.temperature, 1.0),
        "top_p": sampling.top_p,
        "top_k": sampling.top_k,
        "stop_sequences": list(sampling.stop) or None,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    if conversation.tools:
        body["tools"] = [
            {
                "name": tool.name,
                **({"description": tool.description} if tool.description else {}),
                "input_schema": tool.parameters or {"type": "object", "properties": {}},
            }
            for tool in conversation.tools
        ]
        body["tool_choice"] = _tool_choice(conversation)
    return body


def _tool_choice(conversation: Conversation) -> dict[str, Any]:
    choice = conversation.tool_choice
    if choice == "none":
        return {"type": "none"}
    out: dict[str, Any] = (
        {"type": "tool", "name": choice.name}
        if isinstance(choice, NamedToolChoice)
        else {"type": "any" if choice == "required" else "auto"}
    )
    if not conversation.parallel_tool_calls:
        out["disable_parallel_tool_use"] = True
    return out


def _turns(messages: tuple[ChatMessage, ...]) -> list[dict[str, Any]]:
    """Alternating user/assistant turns of content blocks (same-role neighbours merge)."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _blocks(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    return turns


def _blocks(message: ChatMessage) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [
            {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id or "",
                "content": message.content or "",
            }
        ]
    # Images before the text they are asked about, as Anthropic recommends.
    blocks: list[dict[str, Any]] = [_image_block(image) for image in message.images]
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for call in message.tool_calls:
        blocks.append(
            {
                "type": "tool_use",
                "id": call.id,
                "name": call.name,
                "input": _arguments(call.arguments),
            }
        )
    return blocks


def _image_block(image: ImageInput) -> dict[str, Any]:
    if image.url is not None:
        return {"type": "image", "source": {"type": "url", "url": image.url}}
    source = {"type": "base64", "media_type": image.media_type, "data": image.data}
    return {"type": "image", "source": source}


def _arguments(arguments: str) -> dict[str, Any]:
    try:
        value = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


class AnthropicEventReader:
    """Chat events from Messages stream events (`message_start` ... `message_stop`)."""

    def __init__(self) -> None:
        self._calls: dict[int, int] = {}  # content block index -> tool call index
        self._input_tokens = 0
        self._output_tokens = 0
        self._stop_reason: str | None = None
        self._stop_sequence: str | None = None
        self.ended = False  # message_stop came: the stream was complete, not cut off

    def feed(self, event_type: str | None, payload: dict[str, Any]) -> list[ChatEvent]:
        kind = payload.get("type", event_type)
        if kind == "message_start":
            self._count(payload.get("message", {}).get("usage"))
        elif kind == "content_block_start":
            return self._block_start(int(payload.get("index", 0)), payload.get("content_block", {}))
        elif kind == "content_block_delta":
            return self._delta(int(payload.get("index", 0)), payload.get("delta", {}))
        elif kind == "message_delta":
            delta = payload.get("delta", {})
            self._stop_reason = delta.get("stop_reason") or self._stop_reason
            self._stop_sequence = delta.get("stop_sequence") or self._stop_sequence
            self._count(payload.get("usage"))
        elif kind == "message_stop":
            self.ended = True
        elif kind == "error":
            raise _stream_error(payload.get("error", {}))
        return []

    def _block_start(self, index: int, block: dict[str, Any]) -> list[ChatEvent]:
        if block.get("type") == "text" and block.get("text"):
            return [TextDelta(block["text"])]
        if block.get("type") != "tool_use":
            return []  # thinking and server-tool blocks: nothing a chat client receives
        call = self._calls[index] = len(self._calls)
        events: list[ChatEvent] = [ToolCallStart(call, block.get("name", ""), block.get("id"))]
        if block.get("input"):
            events.append(ToolCallArgumentsDelta(call, json.dumps(block["input"])))
        return events

    def _delta(self, index: int, delta: dict[str, Any]) -> list[ChatEvent]:
        if delta.get("type") == "text_delta" and delta.get("text"):
            return [TextDelta(delta["text"])]
        if delta.get("type") == "input_json_delta" and delta.get("partial_json"):
            call = self._calls.get(index)
            if call is not None:
                return [ToolCallArgumentsDelta(call, delta["partial_json"])]
        return []

    def _count(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        # Cached prompt tokens are prompt tokens too; the API counts them apart.
        prompt = sum(
            int(usage.get(key) or 0)
            for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        self._input_tokens = max(self._input_tokens, prompt)
        self._output_tokens = max(self._output_tokens, int(usage.get("output_tokens") or 0))

    def finished(self) -> Finished:
        reason = finish_reason(self._stop_reason)
        if reason == "stop" and self._calls:
            reason = "tool_calls"
        stop_sequence = self._stop_sequence if self._stop_reason == "stop_sequence" else None
        return Finished(reason, Usage(self._input_tokens, self._output_tokens), stop_sequence)


def _stream_error(error: dict[str, Any]) -> EngineResponseError | EngineOverloadedError:
    message = f"Upstream failed mid-stream: {error.get('message') or error}"
    if error.get("type") in ("overloaded_error", "rate_limit_error"):
        return EngineOverloadedError(message)
    return EngineResponseError(message)
