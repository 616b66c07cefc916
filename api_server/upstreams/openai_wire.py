"""The gateway's chat domain to an OpenAI-compatible `/chat/completions` request, and that
API's stream chunks back to chat events. Pure."""

from __future__ import annotations

from typing import Any

from api_server.chat.conversation import ChatMessage, Conversation, NamedToolChoice
from api_server.chat.events import (
    ChatEvent,
    Finished,
    FinishReason,
    Logprobs,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
)
from api_server.chat.sampling import OutputFormat, SamplingParams
from api_server.engines.logprobs import parse_token_logprobs

# OpenAI's finish reasons; "function_call" is the legacy name, the rest end a turn.
_FINISH_REASONS: dict[str, FinishReason] = {
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
}


def openai_chat_body(
    conversation: Conversation,
    sampling: SamplingParams,
    model: str,
    max_tokens_field: str = "max_tokens",
) -> dict[str, Any]:
    """A streaming chat request with usage in the stream. top_k has no OpenAI field and
    is left out (strict APIs refuse unknown fields)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [_message(message) for message in conversation.messages],
        max_tokens_field: sampling.max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    optional = {
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "seed": sampling.seed,
        "presence_penalty": sampling.presence_penalty,
        "frequency_penalty": sampling.frequency_penalty,
        "stop": list(sampling.stop) or None,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    if conversation.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    **({"description": tool.description} if tool.description else {}),
                    "parameters": tool.parameters or {"type": "object", "properties": {}},
                },
            }
            for tool in conversation.tools
        ]
        choice = conversation.tool_choice
        body["tool_choice"] = (
            {"type": "function", "function": {"name": choice.name}}
            if isinstance(choice, NamedToolChoice)
            else choice
        )
        if not conversation.parallel_tool_calls:
            body["parallel_tool_calls"] = False
    if sampling.output_format is not None:
        body["response_format"] = _response_format(sampling.output_format)
    if sampling.logprobs is not None:
        body["logprobs"] = True
        if sampling.logprobs:
            body["top_logprobs"] = sampling.logprobs
    if sampling.ignore_eos:  # vLLM-style servers take it; OpenAI's own API refuses it (400)
        body["ignore_eos"] = True
    return body


def _response_format(output_format: OutputFormat) -> dict[str, Any]:
    if output_format.schema is None:
        return {"type": "json_object"}
    return {
        "type": "json_schema",
        "json_schema": {
            "name": output_format.name or "response",
            "schema": output_format.schema,
            "strict": output_format.strict,
        },
    }


def _message(message: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.images:
        text = [{"type": "text", "text": message.content}] if message.content else []
        out["content"] = text + [
            {"type": "image_url", "image_url": {"url": image.as_url()}} for image in message.images
        ]
    if message.role == "tool":
        out["tool_call_id"] = message.tool_call_id
        out["content"] = message.content or ""
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
    elif message.content is None:
        out["content"] = ""
    return out


class OpenAIChunkReader:
    """Chat events from `chat.completion.chunk` objects. The upstream's own tool-call
    indices are renumbered 0, 1, ... in the order the calls start."""

    def __init__(self) -> None:
        self._calls: dict[int, int] = {}  # upstream index -> ours
        self._finish: str | None = None
        self.usage: Usage | None = None
        self.text_chunks = 0

    def feed(self, event_type: str | None, chunk: dict[str, Any]) -> list[ChatEvent]:
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = Usage(
                int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
            )
        events: list[ChatEvent] = []
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            logprobs = choice.get("logprobs")
            if isinstance(logprobs, dict) and (
                tokens := parse_token_logprobs(logprobs.get("content"))
            ):
                events.append(Logprobs(tokens))  # before the text they belong to
            if content := delta.get("content"):
                self.text_chunks += 1
                events.append(TextDelta(content))
            for call in delta.get("tool_calls") or ():
                events.extend(self._tool_call(call))
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
        return events

    def _tool_call(self, call: dict[str, Any]) -> list[ChatEvent]:
        upstream_index = int(call.get("index", len(self._calls)))
        function = call.get("function") or {}
        events: list[ChatEvent] = []
        if upstream_index not in self._calls:
            self._calls[upstream_index] = len(self._calls)
            events.append(
                ToolCallStart(
                    self._calls[upstream_index], function.get("name") or "", call.get("id")
                )
            )
        if arguments := function.get("arguments"):
            events.append(ToolCallArgumentsDelta(self._calls[upstream_index], arguments))
        return events

    @property
    def ended(self) -> bool:
        """The stream gave its finish_reason: it was complete, not cut off."""
        return self._finish is not None

    def finished(self) -> Finished:
        reason = _FINISH_REASONS.get(self._finish or "", "stop")
        if reason == "stop" and self._calls:
            reason = "tool_calls"
        usage = self.usage or Usage(prompt_tokens=0, completion_tokens=self.text_chunks)
        return Finished(reason, usage)
