"""Anthropic Messages API wire models for requests. Lenient as the OpenAI ones: unknown
fields (`cache_control`, `citations`, new betas) are accepted and reported in the log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from api_server.validation import MAX_TOOLS, LenientModel


class TextBlock(LenientModel):
    type: Literal["text"]
    text: str


class Base64ImageSource(LenientModel):
    type: Literal["base64"]
    media_type: str
    data: str


class UrlImageSource(LenientModel):
    type: Literal["url"]
    url: str


class ImageBlock(LenientModel):
    type: Literal["image"]
    source: Annotated[Base64ImageSource | UrlImageSource, Field(discriminator="type")]


class ToolUseBlock(LenientModel):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(LenientModel):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[Annotated[TextBlock | ImageBlock, Field(discriminator="type")]] | None = (
        None
    )
    is_error: bool = False


class ThinkingBlock(LenientModel):
    """Reasoning an Anthropic model wrote; clients send it back with the assistant turn."""

    type: Literal["thinking", "redacted_thinking"]


ContentBlock = Annotated[
    TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock,
    Field(discriminator="type"),
]


class MessageIn(LenientModel):
    role: Literal["user", "assistant"]
    content: str | list[ContentBlock]


class ToolIn(LenientModel):
    name: str = Field(min_length=1)
    description: str | None = None
    input_schema: dict[str, Any]


class ToolChoiceAuto(LenientModel):
    type: Literal["auto"]
    disable_parallel_tool_use: bool | None = None


class ToolChoiceAny(LenientModel):
    type: Literal["any"]
    disable_parallel_tool_use: bool | None = None


class ToolChoiceTool(LenientModel):
    type: Literal["tool"]
    name: str
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNone(LenientModel):
    type: Literal["none"]


ToolChoiceIn = Annotated[
    ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone,
    Field(discriminator="type"),
]


class Metadata(LenientModel):
    user_id: str | None = None


class MessagesRequest(LenientModel):
    model: str
    max_tokens: int = Field(ge=1)
    messages: list[MessageIn] = Field(min_length=1)
    system: str | list[TextBlock] | None = None
    tools: list[ToolIn] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: ToolChoiceIn | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=1.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    top_k: int | None = Field(default=None, ge=0)
    stop_sequences: list[str] | None = None
    stream: bool = False
    metadata: Metadata | None = None
    # Structured outputs (Anthropic's `{"type": "json_schema", "schema": ...}`).
    output_format: dict[str, Any] | None = None
    # Extended thinking: accepted; only an Anthropic upstream (relayed) writes thinking
    # blocks, other models answer without them.
    thinking: dict[str, Any] | None = None


class CountTokensRequest(LenientModel):
    """`/v1/messages/count_tokens`: the prompt-shaping fields of a request, no sampling."""

    model: str
    messages: list[MessageIn] = Field(min_length=1)
    system: str | list[TextBlock] | None = None
    tools: list[ToolIn] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: ToolChoiceIn | None = None
