"""The Responses API's request, as OpenAI defines it (`POST /v1/responses`). Lenient as
every front door: unknown fields are kept and noted in the log.

Items, content parts and tools of a type this gateway does not serve parse as `Other`, so
translation refuses them with a 400 naming the type and where it is, rather than a parser's
message about union tags.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, StringConstraints, Tag

from api_server.validation import MAX_TOOLS, LenientModel

# OpenAI's bounds on `metadata`.
MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 512


def _by_type(*known: str, default: str | None = None) -> Discriminator:
    """A union's member for a raw or parsed value: its `type` when known, else "other"."""

    def tag(value: Any) -> str:
        kind = (
            value.get("type", default) if isinstance(value, dict) else getattr(value, "type", None)
        )
        return kind if kind in known else "other"

    return Discriminator(tag)


class Other(LenientModel):
    """An item, content part, tool or tool choice of a type this gateway does not serve."""

    type: str


class InputText(LenientModel):
    type: Literal["input_text"]
    text: str


class OutputText(LenientModel):
    """Earlier assistant output sent back as input (annotations and logprobs ignored)."""

    type: Literal["output_text"]
    text: str


class Refusal(LenientModel):
    type: Literal["refusal"]
    refusal: str


class InputImage(LenientModel):
    type: Literal["input_image"]
    image_url: str | None = None
    file_id: str | None = None
    detail: str | None = None


ContentPart = Annotated[
    Annotated[InputText, Tag("input_text")]
    | Annotated[OutputText, Tag("output_text")]
    | Annotated[Refusal, Tag("refusal")]
    | Annotated[InputImage, Tag("input_image")]
    | Annotated[Other, Tag("other")],
    _by_type("input_text", "output_text", "refusal", "input_image"),
]


class MessageItem(LenientModel):
    """A message: `type` may be left out (OpenAI's "easy" input message)."""

    type: Literal["message"] = "message"
    role: Literal["user", "system", "developer", "assistant"]
    content: str | list[ContentPart]
    id: str | None = None
    status: str | None = None


class FunctionCallItem(LenientModel):
    """A call the model made earlier, sent back with its output."""

    type: Literal["function_call"]
    call_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    arguments: str
    id: str | None = None
    status: str | None = None


class FunctionCallOutputItem(LenientModel):
    type: Literal["function_call_output"]
    call_id: str = Field(min_length=1)
    output: str | list[ContentPart]
    id: str | None = None
    status: str | None = None


InputItem = Annotated[
    Annotated[MessageItem, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")]
    | Annotated[Other, Tag("other")],
    _by_type("message", "function_call", "function_call_output", default="message"),
]


class FunctionTool(LenientModel):
    type: Literal["function"]
    name: str = Field(min_length=1, max_length=64)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


Tool = Annotated[
    Annotated[FunctionTool, Tag("function")] | Annotated[Other, Tag("other")],
    _by_type("function"),
]


class NamedFunctionChoice(LenientModel):
    type: Literal["function"]
    name: str


ToolChoiceIn = Annotated[
    Annotated[NamedFunctionChoice, Tag("function")] | Annotated[Other, Tag("other")],
    _by_type("function"),
]


class TextConfig(LenientModel):
    # `{"type": "text" | "json_object" | "json_schema", ...}`: checked by
    # api_server/openai/output_format.py, where chat's response_format is too.
    format: dict[str, Any] | None = None
    verbosity: str | None = None


MetadataKey = Annotated[str, StringConstraints(max_length=MAX_METADATA_KEY_CHARS)]
MetadataValue = Annotated[str, StringConstraints(max_length=MAX_METADATA_VALUE_CHARS)]


class ResponsesRequest(LenientModel):
    model: str
    input: str | list[InputItem]
    instructions: str | None = None
    tools: list[Tool] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: Literal["auto", "none", "required"] | ToolChoiceIn | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    text: TextConfig | None = None
    stream: bool = False
    store: bool = True
    previous_response_id: str | None = Field(default=None, min_length=1)
    metadata: dict[MetadataKey, MetadataValue] | None = Field(
        default=None, max_length=MAX_METADATA_PAIRS
    )
    user: str | None = None
    # Refused unless off: each would change the answer in a way this gateway cannot.
    background: bool | None = None
    truncation: Literal["auto", "disabled"] | None = None
    conversation: Any = None
    prompt: Any = None
    top_logprobs: int | None = None
