"""Pure translation from Anthropic Messages requests to the gateway's chat domain.

`tool_use` blocks become the assistant's tool calls, `tool_result` blocks become "tool"
messages answering them; tool names pass through `ToolNameMap` so the model only sees
names its format accepts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from api_server.anthropic.protocol import (
    Base64ImageSource,
    CountTokensRequest,
    ImageBlock,
    MessageIn,
    MessagesRequest,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from api_server.anthropic.tool_names import ToolNameMap
from api_server.chat.conversation import (
    ChatMessage,
    Conversation,
    ImageInput,
    NamedToolChoice,
    ToolCall,
    ToolChoice,
    ToolSpec,
    offered_tools,
)
from api_server.chat.sampling import OutputFormat, SamplingParams, bounded_stops
from api_server.client_schemas import RequestSchemas
from api_server.errors import InvalidRequestError, UnsupportedFeatureError
from api_server.openai.output_format import json_schema_format
from api_server.registry import ModelSpec

PromptRequest = MessagesRequest | CountTokensRequest


def tool_names_for(request: PromptRequest, explicit: Mapping[str, str]) -> ToolNameMap:
    """`explicit` is the `tool_name_map` setting."""
    return ToolNameMap.for_names((tool.name for tool in request.tools or ()), explicit)


def to_conversation(
    request: PromptRequest, names: ToolNameMap, model: str, accepts_images: bool = False
) -> Conversation:
    """`model` (the served model's name) words the error for images, which pass only when
    the model `accepts_images` (a hosted upstream)."""
    messages: list[ChatMessage] = []
    system = _system_text(request.system)
    if system is not None:
        messages.append(ChatMessage(role="system", content=system))
    call_names: dict[str, str] = {}  # tool_use id -> the model-side name, for tool results
    for index, message in enumerate(request.messages):
        messages.extend(_to_messages(message, index, names, call_names, model, accepts_images))
    schemas = RequestSchemas()
    tools = tuple(
        ToolSpec.from_client(
            names.model_name(tool.name),
            tool.description,
            tool.input_schema,
            param=f"tools[{index}].input_schema",
            request=schemas,
        )
        for index, tool in enumerate(request.tools or ())
    )
    choice = _to_tool_choice(request, names, tools)
    tools = offered_tools(tools, choice)
    asked = request.tool_choice
    parallel = asked is None or asked.type == "none" or not asked.disable_parallel_tool_use
    return Conversation(
        messages=tuple(messages), tools=tools, tool_choice=choice, parallel_tool_calls=parallel
    )


def _system_text(system: str | list[TextBlock] | None) -> str | None:
    if system is None or isinstance(system, str):
        return system
    return "\n\n".join(block.text for block in system)


def _to_messages(
    message: MessageIn,
    index: int,
    names: ToolNameMap,
    call_names: dict[str, str],
    model: str,
    accepts_images: bool,
) -> list[ChatMessage]:
    if isinstance(message.content, str):
        return [ChatMessage(role=message.role, content=message.content)]
    texts: list[str] = []
    images: list[ImageInput] = []
    calls: list[ToolCall] = []
    results: list[ChatMessage] = []
    for position, block in enumerate(message.content):
        where = f"messages[{index}].content[{position}]"
        if isinstance(block, TextBlock):
            texts.append(block.text)
        elif isinstance(block, ImageBlock):
            if not accepts_images or message.role != "user":
                raise _image_refused(where, model)
            images.append(_image(block))
        elif isinstance(block, ThinkingBlock):
            continue  # another model's reasoning: not part of the conversation here
        elif isinstance(block, ToolUseBlock):
            if message.role != "assistant":
                raise InvalidRequestError(
                    f"{where}: tool_use blocks belong in assistant messages", param=where
                )
            name = names.model_name(block.name)
            call_names[block.id] = name
            calls.append(ToolCall(id=block.id, name=name, arguments=json.dumps(block.input)))
        else:
            if message.role != "user":
                raise InvalidRequestError(
                    f"{where}: tool_result blocks belong in user messages", param=where
                )
            results.append(_tool_message(block, where, call_names, model))
    text = "\n\n".join(texts)
    if message.role == "assistant":
        return [ChatMessage(role="assistant", content=text or None, tool_calls=tuple(calls))]
    # Anthropic puts tool results first in the user turn; the user's own words follow them.
    if texts or images:
        return [*results, ChatMessage(role="user", content=text, images=tuple(images))]
    return results


def _image(block: ImageBlock) -> ImageInput:
    source = block.source
    if isinstance(source, Base64ImageSource):
        return ImageInput(media_type=source.media_type, data=source.data)
    return ImageInput(url=source.url)


def _tool_message(
    block: ToolResultBlock, where: str, call_names: dict[str, str], model: str
) -> ChatMessage:
    content = block.content
    if content is None or isinstance(content, str):
        text = content or ""
    else:
        parts: list[str] = []
        for part in content:
            if isinstance(part, ImageBlock):
                raise _image_refused(f"{where}.content", model)
            parts.append(part.text)
        text = "\n\n".join(parts)
    if block.is_error:
        # The chat formats have no error flag on a tool result; say it in words.
        text = f"Error: {text}"
    return ChatMessage(
        role="tool",
        content=text,
        tool_call_id=block.tool_use_id,
        name=call_names.get(block.tool_use_id),
    )


def _image_refused(where: str, model: str) -> UnsupportedFeatureError:
    return UnsupportedFeatureError(
        f"{where}: model '{model}' accepts text only; image blocks cannot be sent to it",
        param=where,
    )


def _to_tool_choice(
    request: PromptRequest, names: ToolNameMap, tools: tuple[ToolSpec, ...]
) -> ToolChoice:
    choice = request.tool_choice
    if choice is None or choice.type == "auto":
        return "auto"
    if choice.type == "none":
        return "none"
    if not tools:
        raise InvalidRequestError(
            f"tool_choice '{choice.type}' needs at least one tool", param="tool_choice"
        )
    if choice.type == "any":
        return "required"
    name = names.model_name(choice.name)
    if name not in {tool.name for tool in tools}:
        raise InvalidRequestError(
            f"tool_choice names '{choice.name}', which is not among the tools",
            param="tool_choice",
        )
    return NamedToolChoice(name=name)


def to_sampling(
    request: MessagesRequest,
    spec: ModelSpec,
    default_temperature: float | None,
    output_format: OutputFormat | None = None,
) -> SamplingParams:
    """`output_format`: the request's, checked (`to_output_format`)."""
    max_tokens = spec.completion_budget(request.max_tokens)
    temperature = request.temperature
    return SamplingParams(
        max_tokens=max_tokens,
        temperature=default_temperature if temperature is None else temperature,
        top_p=request.top_p,
        top_k=request.top_k,
        stop=bounded_stops(request.stop_sequences or [], param="stop_sequences"),
        output_format=output_format,
    )


def to_output_format(output_format: dict[str, Any] | None) -> OutputFormat | None:
    """Anthropic's structured output, `{"type": "json_schema", "schema": {...}}`, through
    the same schema checks as OpenAI's."""
    if output_format is None:
        return None
    if output_format.get("type") != "json_schema":
        raise InvalidRequestError(
            "output_format.type must be 'json_schema'", param="output_format.type"
        )
    return json_schema_format(
        {"name": "output", "schema": output_format.get("schema")}, param="output_format"
    )
