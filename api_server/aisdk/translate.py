"""Pure translation from AI SDK UI messages to the gateway's chat domain.

An assistant UI message holds whole steps: text, tool calls, their outputs, then more text.
Each step becomes an assistant message with its calls, followed by "tool" messages for the
outputs that are in.
"""

from __future__ import annotations

import json
from typing import Any

from api_server.aisdk.protocol import ChatStreamRequest, UIMessage, UIMessagePart
from api_server.chat.conversation import ChatMessage, Conversation, ImageInput, ToolCall, ToolSpec
from api_server.chat.sampling import SamplingParams
from api_server.client_schemas import RequestSchemas
from api_server.errors import InvalidRequestError, UnsupportedFeatureError
from api_server.openai.translate import image_from_url
from api_server.registry import ModelSpec

_TOOL_PREFIX = "tool-"


def to_conversation(request: ChatStreamRequest, accepts_images: bool = False) -> Conversation:
    """`accepts_images`: the model takes image file parts (a hosted upstream)."""
    messages: list[ChatMessage] = []
    for index, message in enumerate(request.messages):
        messages.extend(to_messages(message, index, accepts_images))
    schemas = RequestSchemas()
    tools = tuple(
        ToolSpec.from_client(
            tool.function.name,
            tool.function.description,
            tool.function.parameters or {},
            param=f"tools[{index}].function.parameters",
            request=schemas,
        )
        for index, tool in enumerate(request.tools or ())
    )
    return Conversation(messages=tuple(messages), tools=tools)


def message_parts(message: UIMessage) -> list[UIMessagePart]:
    """The parts of either form: `parts`, text parts in `content`, or a `content` string."""
    if message.parts is not None:
        return message.parts
    if isinstance(message.content, str):
        return [UIMessagePart(type="text", text=message.content)]
    return message.content or []


def message_text(message: UIMessage) -> str:
    return "".join(part.text or "" for part in message_parts(message) if part.type == "text")


def tool_name(part: UIMessagePart) -> str | None:
    """The tool a part calls, or None when it is no tool part."""
    if part.type == "dynamic-tool":
        return part.toolName
    if part.type.startswith(_TOOL_PREFIX):
        return part.type.removeprefix(_TOOL_PREFIX)
    return None


def to_messages(message: UIMessage, index: int, accepts_images: bool = False) -> list[ChatMessage]:
    role = "system" if message.role == "developer" else message.role
    if role != "assistant":
        if any(tool_name(part) for part in message_parts(message)):
            raise InvalidRequestError(
                f"messages[{index}]: tool parts belong in assistant messages",
                param=f"messages[{index}].parts",
            )
        images = _images(message, index, accepts_images and role == "user")
        return [ChatMessage(role=role, content=message_text(message), images=images)]
    return _assistant_steps(message_parts(message), index)


def _images(message: UIMessage, index: int, accepts_images: bool) -> tuple[ImageInput, ...]:
    """The message's image files; a file the model cannot take is refused, not dropped."""
    images: list[ImageInput] = []
    for position, part in enumerate(message_parts(message)):
        if part.type != "file":
            continue
        where = f"messages[{index}].parts[{position}]"
        is_image = (part.mediaType or "").startswith("image/") and part.url
        if not (is_image and accepts_images):
            kind = f"a file of type '{part.mediaType}'" if not is_image else "an image"
            raise UnsupportedFeatureError(
                f"{where}: {kind} cannot be sent to this model (text only)", param=where
            )
        assert part.url is not None
        images.append(image_from_url(part.url))
    return tuple(images)


def _assistant_steps(parts: list[UIMessagePart], index: int) -> list[ChatMessage]:
    out: list[ChatMessage] = []
    texts: list[str] = []
    calls: list[ToolCall] = []
    results: list[ChatMessage] = []

    def flush() -> None:
        if texts or calls:
            out.append(
                ChatMessage(
                    role="assistant", content="".join(texts) or None, tool_calls=tuple(calls)
                )
            )
        out.extend(results)
        texts.clear()
        calls.clear()
        results.clear()

    for position, part in enumerate(parts):
        name = tool_name(part)
        if part.type == "text":
            if calls:  # text after tool calls starts the next step
                flush()
            texts.append(part.text or "")
        elif name is not None:
            where = f"messages[{index}].parts[{position}]"
            if not part.toolCallId:
                raise InvalidRequestError(f"{where}: a tool part needs a toolCallId", param=where)
            if part.state == "input-streaming":
                continue  # a call still being written: not part of the conversation yet
            call_id = part.toolCallId
            calls.append(ToolCall(id=call_id, name=name, arguments=json.dumps(part.input or {})))
            result = _tool_result(part)
            if result is not None:
                results.append(
                    ChatMessage(role="tool", content=result, tool_call_id=call_id, name=name)
                )
    flush()
    return out


def _tool_result(part: UIMessagePart) -> str | None:
    if part.state == "output-error":
        # The chat formats have no error flag on a tool result; say it in words.
        return f"Error: {part.errorText or 'the tool failed'}"
    if part.state != "output-available":
        return None
    return _as_text(part.output)


def _as_text(output: Any) -> str:
    return output if isinstance(output, str) else json.dumps(output)


def to_sampling(
    request: ChatStreamRequest, spec: ModelSpec, default_temperature: float | None
) -> SamplingParams:
    max_tokens = spec.completion_budget(request.max_tokens)
    temperature = request.temperature
    return SamplingParams(
        max_tokens=max_tokens,
        temperature=default_temperature if temperature is None else temperature,
    )
