"""OpenAI wire models for requests. Unknown fields are accepted (clients send many that
do not change the output here) and reported in the log, as vLLM does."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from api_server.chat.sampling import MAX_TOP_LOGPROBS
from api_server.validation import MAX_TOOLS, LenientModel


class TextPart(LenientModel):
    type: Literal["text"]
    text: str


class ImageUrl(LenientModel):
    url: str
    detail: str | None = None


class ImagePart(LenientModel):
    type: Literal["image_url"]
    image_url: ImageUrl


class InputAudioPart(LenientModel):
    type: Literal["input_audio"]
    input_audio: dict[str, Any]


class RefusalPart(LenientModel):
    type: Literal["refusal"]
    refusal: str


ContentPart = Annotated[
    TextPart | ImagePart | InputAudioPart | RefusalPart, Field(discriminator="type")
]
Content = str | list[ContentPart]


class FunctionCall(LenientModel):
    name: str
    arguments: str


class ToolCallIn(LenientModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessageIn(LenientModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Content | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None


class FunctionDefinition(LenientModel):
    name: str = Field(min_length=1, max_length=64)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDefinition(LenientModel):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(LenientModel):
    name: str


class NamedToolChoiceIn(LenientModel):
    type: Literal["function"]
    function: NamedFunction


class StreamOptions(LenientModel):
    include_usage: bool = False


class SamplingFields(LenientModel):
    """What chat and text completions share: the model, streaming and sampling."""

    model: str
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    n: int | None = None
    user: str | None = None
    ignore_eos: bool = False  # vLLM's extension: run to max_tokens past the end of turn


class ChatCompletionRequest(SamplingFields):
    messages: list[ChatMessageIn] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    tools: list[ToolDefinition] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoiceIn | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=MAX_TOP_LOGPROBS)
    cache: bool | None = None  # an inferstack extension: opt in or out of the response cache
    semantic_cache: bool | None = None  # an inferstack extension: the semantic cache too


class CompletionRequestIn(SamplingFields):
    prompt: str | list[str]
    echo: bool | None = None
    logprobs: int | None = Field(default=None, ge=0, le=MAX_TOP_LOGPROBS)
    suffix: str | None = None
    best_of: int | None = None
