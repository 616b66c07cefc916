"""The conversation as the gateway understands it, independent of any wire protocol.

Front doors translate their requests into these types; prompt formatters read them.
Frozen dataclasses: translation is pure and nothing downstream mutates a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from api_server.client_schemas import ClientSchema, RequestSchemas, compile_client_schema
from api_server.errors import InvalidRequestError

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call made by the assistant. `arguments` is the JSON text of the arguments."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ImageInput:
    """An image the client sent: a URL, or inline base64 `data` with its `media_type`.
    Only models that take images get these (hosted upstreams); local prompts are text."""

    url: str | None = None
    media_type: str | None = None
    data: str | None = None

    def as_url(self) -> str:
        """A URL either way: inline data becomes a `data:` URL (OpenAI's image_url form)."""
        return self.url or f"data:{self.media_type};base64,{self.data}"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    images: tuple[ImageInput, ...] = ()  # user messages, for models that take images
    # Set on role="tool": the id of the call this message answers, and the function name.
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function the model may call; `parameters` is its JSON schema, and `schema` that
    schema compiled (None when it has none to check calls against: `{}`)."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    schema: ClientSchema | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_client(
        cls,
        name: str,
        description: str | None,
        parameters: dict[str, Any],
        *,
        param: str,
        request: RequestSchemas | None = None,
    ) -> ToolSpec:
        """A tool as a client defined it: its schema refused at once (InvalidSchemaError,
        400, naming `param`) when the gateway will not check calls against it. `request`:
        the budget shared by the schemas of one request."""
        schema = (
            compile_client_schema(parameters, param=param, request=request) if parameters else None
        )
        return cls(name, description, parameters, schema)


@dataclass(frozen=True, slots=True)
class NamedToolChoice:
    name: str


ToolChoice = Literal["auto", "none", "required"] | NamedToolChoice


def offered_tools(tools: tuple[ToolSpec, ...], choice: ToolChoice) -> tuple[ToolSpec, ...]:
    """The tools the model is shown: with one named, only that one (the model cannot call
    what it is not shown); otherwise all of them."""
    if isinstance(choice, NamedToolChoice):
        return tuple(tool for tool in tools if tool.name == choice.name)
    return tools


def checked_tool_choice(choice: ToolChoice | None, tools: Sequence[ToolSpec]) -> ToolChoice:
    """A client's tool_choice (None: auto), or a 400: `required` without tools, or a named
    tool that is not among them."""
    if choice is None:
        return "auto"
    if choice == "required" and not tools:
        raise InvalidRequestError(
            "tool_choice 'required' needs at least one tool", param="tool_choice"
        )
    if isinstance(choice, NamedToolChoice) and choice.name not in {t.name for t in tools}:
        raise InvalidRequestError(
            f"tool_choice names '{choice.name}', which is not among the tools",
            param="tool_choice",
        )
    return choice


@dataclass(frozen=True, slots=True)
class Conversation:
    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice = "auto"
    # The client allows more than one tool call per turn (OpenAI's parallel_tool_calls).
    parallel_tool_calls: bool = True

    @property
    def offers_tools(self) -> bool:
        """Tools are rendered into the prompt unless the client said `tool_choice: none`."""
        return bool(self.tools) and self.tool_choice != "none"
