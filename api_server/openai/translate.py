"""Pure translation between OpenAI chat requests and the gateway's chat domain."""

from __future__ import annotations

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
from api_server.generation.limits import checked_completion
from api_server.openai.protocol import (
    ChatCompletionRequest,
    ChatMessageIn,
    CompletionRequestIn,
    Content,
    ImagePart,
    TextPart,
)
from api_server.registry import ModelSpec


def to_conversation(request: ChatCompletionRequest, accepts_images: bool = False) -> Conversation:
    """`accepts_images`: the model takes image parts (a hosted upstream); else they are 400."""
    messages = tuple(
        _to_message(message, index, accepts_images)
        for index, message in enumerate(request.messages)
    )
    schemas = RequestSchemas()
    tools = tuple(
        ToolSpec.from_client(
            tool.function.name,
            tool.function.description,
            tool.function.parameters or {"type": "object", "properties": {}},
            param=f"tools[{index}].function.parameters",
            request=schemas,
        )
        for index, tool in enumerate(request.tools or ())
    )
    choice = _to_tool_choice(request, tools)
    tools = offered_tools(tools, choice)
    return Conversation(
        messages=messages,
        tools=tools,
        tool_choice=choice,
        parallel_tool_calls=request.parallel_tool_calls is not False,
    )


def _to_message(message: ChatMessageIn, index: int, accepts_images: bool) -> ChatMessage:
    role = "system" if message.role == "developer" else message.role
    content, images = _content(message.content, index, accepts_images and role == "user")
    if role == "tool":
        if not message.tool_call_id:
            raise InvalidRequestError(
                f"messages[{index}]: a tool message needs 'tool_call_id'",
                param=f"messages[{index}].tool_call_id",
            )
        return ChatMessage(
            role="tool",
            content=content or "",
            tool_call_id=message.tool_call_id,
            name=message.name,
        )
    tool_calls = tuple(
        ToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments)
        for call in message.tool_calls or ()
    )
    if role != "assistant" and tool_calls:
        raise InvalidRequestError(
            f"messages[{index}]: only assistant messages may carry 'tool_calls'",
            param=f"messages[{index}].tool_calls",
        )
    if role != "assistant" and content is None:
        raise InvalidRequestError(
            f"messages[{index}]: a {message.role} message needs 'content'",
            param=f"messages[{index}].content",
        )
    return ChatMessage(
        role=role, content=content, tool_calls=tool_calls, name=message.name, images=images
    )


def _content(
    content: Content | None, index: int, accepts_images: bool
) -> tuple[str | None, tuple[ImageInput, ...]]:
    """The text of a message's content, and its images where the model takes them."""
    if content is None or isinstance(content, str):
        return content, ()
    texts: list[str] = []
    images: list[ImageInput] = []
    for part in content:
        if isinstance(part, TextPart):
            texts.append(part.text)
        elif part.type == "refusal":
            continue
        elif isinstance(part, ImagePart) and accepts_images:
            images.append(image_from_url(part.image_url.url))
        else:
            raise UnsupportedFeatureError(
                f"messages[{index}]: content of type '{part.type}' is not supported by this "
                "model (text only)",
                param=f"messages[{index}].content",
            )
    return "".join(texts), tuple(images)


def image_from_url(url: str) -> ImageInput:
    """An image_url as sent: a `data:` URL is split into its media type and base64 data (the
    form Anthropic takes), any other URL kept as is."""
    header, comma, data = url.partition(",")
    if url.startswith("data:") and comma and header.endswith(";base64"):
        return ImageInput(media_type=header[5:-7] or "image/png", data=data)
    return ImageInput(url=url)


def _to_tool_choice(request: ChatCompletionRequest, tools: tuple[ToolSpec, ...]) -> ToolChoice:
    choice = request.tool_choice
    named = (
        choice
        if choice is None or isinstance(choice, str)
        else NamedToolChoice(name=choice.function.name)
    )
    return checked_tool_choice(named, tools)


def to_sampling(
    request: ChatCompletionRequest | CompletionRequestIn,
    spec: ModelSpec,
    default_temperature: float | None,
    output_format: OutputFormat | None = None,
) -> SamplingParams:
    """`output_format`: the request's response_format, checked (output_format_from)."""
    requested = request.max_tokens
    if isinstance(request, ChatCompletionRequest) and request.max_completion_tokens:
        requested = request.max_completion_tokens
    limits = checked_completion(spec, max_tokens=requested, n=request.n, stop=request.stop)
    temperature = request.temperature
    return SamplingParams(
        max_tokens=limits.max_tokens,
        temperature=default_temperature if temperature is None else temperature,
        top_p=request.top_p,
        stop=limits.stops,
        seed=request.seed,
        presence_penalty=request.presence_penalty,
        frequency_penalty=request.frequency_penalty,
        output_format=output_format,
        logprobs=_logprobs(request),
        ignore_eos=request.ignore_eos,
    )


def _logprobs(request: ChatCompletionRequest | CompletionRequestIn) -> int | None:
    """How many alternatives per token to report; None: no logprobs at all."""
    if isinstance(request, CompletionRequestIn):
        return request.logprobs
    if request.logprobs:
        return request.top_logprobs or 0
    if request.top_logprobs is not None:
        raise InvalidRequestError("top_logprobs needs logprobs: true", param="top_logprobs")
    return None
