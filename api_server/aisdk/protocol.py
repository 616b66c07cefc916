"""AI SDK (v5) wire models for requests: `UIMessage`s with typed parts, or the older
`content` string. Lenient: unknown fields (`metadata`, `trigger`, `providerMetadata`) are
accepted and reported in the log."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from api_server.openai.protocol import ToolDefinition
from api_server.validation import MAX_TOOLS, LenientModel


class UIMessagePart(LenientModel):
    """One part of a message. `text` parts carry `text`; tool parts (`tool-<name>`, or
    `dynamic-tool` with `toolName`) carry the call and, once run, its output. Other kinds
    (`step-start`, `reasoning`, `source-url`) are accepted and skipped; `file` parts with
    an image `mediaType` go to models that take images, and are refused (400) elsewhere."""

    type: str
    text: str | None = None
    toolCallId: str | None = None  # the wire names are camelCase
    toolName: str | None = None
    state: str | None = None
    input: Any = None
    output: Any = None
    errorText: str | None = None
    mediaType: str | None = None  # file parts: the file's type and its (data: or http) URL
    url: str | None = None


class UIMessage(LenientModel):
    """A UI message; OpenAI-style messages (`content` string or text parts) pass too."""

    id: str | None = None
    role: Literal["system", "developer", "user", "assistant", "tool"]
    parts: list[UIMessagePart] | None = None
    content: str | list[UIMessagePart] | None = None


class ChatStreamRequest(LenientModel):
    messages: list[UIMessage] = Field(min_length=1)
    model: str | None = None
    tools: list[ToolDefinition] | None = Field(default=None, max_length=MAX_TOOLS)
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)


class TitleRequest(LenientModel):
    messages: list[UIMessage] = Field(min_length=1)
    model: str | None = None
