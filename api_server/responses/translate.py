"""Pure translation between the Responses API and the gateway's chat domain: a request's
input as the items it stores and lists, items (a stored chain's and the request's) as a
Conversation, the sampling, and the request's settings as the Response object repeats them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from api_server.chat.conversation import (
    ChatMessage,
    Conversation,
    ImageInput,
    NamedToolChoice,
    ToolCall,
    ToolChoice,
    ToolSpec,
    checked_tool_choice,
    offered_tools,
)
from api_server.chat.sampling import OutputFormat, SamplingParams
from api_server.client_schemas import RequestSchemas
from api_server.errors import InvalidRequestError, UnsupportedFeatureError
from api_server.openai.output_format import json_schema_format
from api_server.openai.translate import image_from_url
from api_server.registry import ModelSpec
from api_server.responses.protocol import (
    ContentPart,
    FunctionCallItem,
    FunctionCallOutputItem,
    FunctionTool,
    InputImage,
    InputItem,
    InputText,
    MessageItem,
    NamedFunctionChoice,
    OutputText,
    Refusal,
    ResponsesRequest,
)

# Mints an item id with the given prefix ("msg", "fc", "fco"): the service's, so that
# translation stays pure.
NewId = Callable[[str], str]
_ITEMS = TypeAdapter(list[InputItem])
_SUPPORTED_ITEMS = "'message', 'function_call' and 'function_call_output'"


def refuse_unsupported(request: ResponsesRequest) -> None:
    """Options that would change the answer in ways this gateway cannot honour are refused,
    never dropped."""
    refused = {
        "background": (request.background is True, "background responses are not supported"),
        "truncation": (
            request.truncation == "auto",
            "truncation 'auto' is not supported: an input past the model's context is a 400",
        ),
        "conversation": (
            request.conversation is not None,
            "conversations are not supported: chain responses with previous_response_id",
        ),
        "prompt": (request.prompt is not None, "stored prompt templates are not supported"),
        "top_logprobs": (
            bool(request.top_logprobs),
            "top_logprobs is not supported on /v1/responses yet",
        ),
    }
    for param, (asked, message) in refused.items():
        if asked:
            raise UnsupportedFeatureError(message, param=param)


def request_items(request: ResponsesRequest) -> list[InputItem]:
    """The request's input as items: a string is one user message."""
    if isinstance(request.input, str):
        return [MessageItem(role="user", content=request.input)]
    return list(request.input)


def input_items(items: Sequence[InputItem], new_id: NewId) -> list[dict[str, Any]]:
    """The request's input as OpenAI lists it (`GET /v1/responses/{id}/input_items`): each
    item in its full shape, with an id (the client's, or a new one). Items of another type
    are refused here, naming where they are."""
    return [_item_record(item, f"input[{index}]", new_id) for index, item in enumerate(items)]


def _item_record(item: InputItem, param: str, new_id: NewId) -> dict[str, Any]:
    if isinstance(item, MessageItem):
        assistant = item.role == "assistant"
        content = (
            [_text_part(item.content, assistant)]
            if isinstance(item.content, str)
            else [_part_record(part, assistant) for part in item.content]
        )
        return {
            "id": item.id or new_id("msg"),
            "type": "message",
            "role": item.role,
            "status": "completed",
            "content": content,
        }
    if isinstance(item, FunctionCallItem):
        return {
            "id": item.id or new_id("fc"),
            "type": "function_call",
            "call_id": item.call_id,
            "name": item.name,
            "arguments": item.arguments,
            "status": "completed",
        }
    if isinstance(item, FunctionCallOutputItem):
        output: str | list[dict[str, Any]] = (
            item.output
            if isinstance(item.output, str)
            else [_part_record(part, False) for part in item.output]
        )
        return {
            "id": item.id or new_id("fco"),
            "type": "function_call_output",
            "call_id": item.call_id,
            "output": output,
            "status": "completed",
        }
    raise UnsupportedFeatureError(
        f"{param}: items of type '{item.type}' are not supported; send {_SUPPORTED_ITEMS} "
        "items (earlier turns: previous_response_id)",
        param=f"{param}.type",
    )


def _text_part(text: str, assistant: bool) -> dict[str, Any]:
    if assistant:
        return {"type": "output_text", "text": text, "annotations": []}
    return {"type": "input_text", "text": text}


def _part_record(part: ContentPart, assistant: bool) -> dict[str, Any]:
    if isinstance(part, InputText | OutputText):
        return _text_part(part.text, assistant)
    if isinstance(part, Refusal):
        return {"type": "refusal", "refusal": part.refusal}
    if isinstance(part, InputImage):
        return {"type": "input_image", "image_url": part.image_url, "file_id": part.file_id,
                "detail": part.detail or "auto"}  # fmt: skip
    return {"type": part.type}  # refused by to_conversation, naming where it is


def parse_items(records: Sequence[dict[str, Any]]) -> list[InputItem]:
    """Stored item records (inputs and outputs alike) as input items again."""
    try:
        return _ITEMS.validate_python(list(records))
    except ValidationError as exc:  # only a record this gateway did not write
        raise InvalidRequestError(f"A stored item cannot be read back: {exc}") from None


def to_conversation(
    history: Sequence[InputItem],
    current: Sequence[InputItem],
    request: ResponsesRequest,
    accepts_images: bool = False,
) -> Conversation:
    """The chat the model continues: the request's `instructions` (never carried over from
    earlier responses, as OpenAI does), then the stored chain's items, then the request's.
    `accepts_images`: the model takes image parts (a hosted upstream); else they are 400."""
    messages: list[ChatMessage] = []
    if request.instructions:
        messages.append(ChatMessage(role="system", content=request.instructions))
    call_names: dict[str, str] = {}
    located = [("previous_response_id", item) for item in history]
    located += [(f"input[{index}]", item) for index, item in enumerate(current)]
    for param, item in located:
        _add_item(messages, call_names, item, param, accepts_images)
    schemas = RequestSchemas()
    tools = tuple(_tool(tool, index, schemas) for index, tool in enumerate(request.tools or ()))
    choice = _tool_choice(request, tools)
    tools = offered_tools(tools, choice)
    return Conversation(
        messages=tuple(messages),
        tools=tools,
        tool_choice=choice,
        parallel_tool_calls=request.parallel_tool_calls is not False,
    )


def _add_item(
    messages: list[ChatMessage],
    call_names: dict[str, str],
    item: InputItem,
    param: str,
    accepts_images: bool,
) -> None:
    """Items become chat messages; a function call joins the assistant turn before it (a
    turn of text and calls is one assistant message in chat)."""
    if isinstance(item, MessageItem):
        role = "system" if item.role == "developer" else item.role
        text, images = _content(item.content, param, accepts_images and role == "user")
        messages.append(ChatMessage(role=role, content=text, images=images))
    elif isinstance(item, FunctionCallItem):
        call_names[item.call_id] = item.name
        call = ToolCall(id=item.call_id, name=item.name, arguments=item.arguments)
        last = messages[-1] if messages else None
        if last is not None and last.role == "assistant":
            messages[-1] = ChatMessage(
                role="assistant", content=last.content, tool_calls=(*last.tool_calls, call)
            )
        else:
            messages.append(ChatMessage(role="assistant", tool_calls=(call,)))
    elif isinstance(item, FunctionCallOutputItem):
        name = call_names.get(item.call_id)
        if name is None:
            raise InvalidRequestError(
                f"{param}: no function_call with call_id '{item.call_id}' comes before this "
                "function_call_output",
                param=f"{param}.call_id",
            )
        output, _ = _content(item.output, param, False)
        messages.append(
            ChatMessage(role="tool", content=output, tool_call_id=item.call_id, name=name)
        )
    else:
        raise UnsupportedFeatureError(
            f"{param}: items of type '{item.type}' are not supported; send {_SUPPORTED_ITEMS} "
            "items",
            param=f"{param}.type",
        )


def _content(
    content: str | Sequence[ContentPart], param: str, accepts_images: bool
) -> tuple[str, tuple[ImageInput, ...]]:
    """The text of a message's (or a call output's) content, and its images where the model
    takes them."""
    if isinstance(content, str):
        return content, ()
    texts: list[str] = []
    images: list[ImageInput] = []
    for part in content:
        if isinstance(part, InputText | OutputText):
            texts.append(part.text)
        elif isinstance(part, Refusal):
            continue
        elif isinstance(part, InputImage) and accepts_images and part.image_url:
            images.append(image_from_url(part.image_url))
        else:
            raise UnsupportedFeatureError(
                f"{param}: content of type '{part.type}' is not supported here (text, and "
                "images by URL for models that take them)",
                param=f"{param}.content",
            )
    return "".join(texts), tuple(images)


def _tool(tool: Any, index: int, schemas: RequestSchemas) -> ToolSpec:
    if not isinstance(tool, FunctionTool):
        raise UnsupportedFeatureError(
            f"tools[{index}]: tools of type '{tool.type}' are not supported: this gateway "
            "runs no built-in tools; define a function tool and run it yourself",
            param=f"tools[{index}].type",
        )
    return ToolSpec.from_client(
        tool.name,
        tool.description,
        tool.parameters or {"type": "object", "properties": {}},
        param=f"tools[{index}].parameters",
        request=schemas,
    )


def _tool_choice(request: ResponsesRequest, tools: tuple[ToolSpec, ...]) -> ToolChoice:
    choice = request.tool_choice
    if choice is None or isinstance(choice, str):
        return checked_tool_choice(choice, tools)
    if not isinstance(choice, NamedFunctionChoice):
        raise UnsupportedFeatureError(
            f"tool_choice of type '{choice.type}' is not supported; use 'auto', 'none', "
            "'required' or {'type': 'function', 'name': ...}",
            param="tool_choice",
        )
    return checked_tool_choice(NamedToolChoice(name=choice.name), tools)


def output_format(request: ResponsesRequest) -> OutputFormat | None:
    """`text.format` as the domain's structured output: None for plain text."""
    spec = request.text.format if request.text is not None else None
    if spec is None:
        return None
    kind = spec.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return OutputFormat(param="text.format")
    if kind == "json_schema":
        return json_schema_format(spec, param="text.format")
    raise InvalidRequestError(
        f"'text.format.type' must be one of 'text', 'json_object', 'json_schema'; got {kind!r}",
        param="text.format.type",
    )


def to_sampling(
    request: ResponsesRequest,
    spec: ModelSpec,
    default_temperature: float | None,
    structured: OutputFormat | None = None,
) -> SamplingParams:
    temperature = request.temperature
    return SamplingParams(
        max_tokens=spec.completion_budget(request.max_output_tokens, param="max_output_tokens"),
        temperature=default_temperature if temperature is None else temperature,
        top_p=request.top_p,
        output_format=structured,
    )


def request_echo(
    request: ResponsesRequest, sampling: SamplingParams, *, stored: bool
) -> dict[str, Any]:
    """What the Response object repeats of the request, as the model ran it (the
    temperature it got; `store`: whether this gateway keeps the response)."""
    choice = request.tool_choice
    return {
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "metadata": request.metadata or {},
        "parallel_tool_calls": request.parallel_tool_calls is not False,
        "previous_response_id": request.previous_response_id,
        "store": stored,
        "temperature": sampling.temperature,
        "text": {"format": (request.text.format if request.text else None) or {"type": "text"}},
        "tool_choice": (
            choice.model_dump(exclude_none=True)
            if choice is not None and not isinstance(choice, str)
            else choice or "auto"
        ),
        "tools": [tool.model_dump() for tool in request.tools or ()],
        "top_p": sampling.top_p,
        "truncation": "disabled",
        "user": request.user,
    }
