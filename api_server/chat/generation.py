"""The chat path every front door shares: format the prompt, stream the engine, parse tool
calls out of the raw text. Streaming and non-streaming responses both consume this."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from api_server.chat.conversation import Conversation, NamedToolChoice
from api_server.chat.events import ChatEvent, Finished, FinishReason
from api_server.engines.client import EngineReplica
from api_server.engines.pool import EnginePool
from api_server.engines.types import CompletionRequest, SamplingParams, Usage
from api_server.errors import EngineError, EngineUnavailableError, InvalidRequestError
from api_server.prompts.base import FormattedPrompt, PromptFormatter
from api_server.prompts.errors import PromptFormatError
from api_server.providers.chat import generate_upstream_chat
from api_server.registry import ModelSpec
from api_server.tools import build_tool_parser
from api_server.tools.base import TextDelta, ToolCallParser, ToolCallStart
from api_server.tools.forcing import forced_call_prefix
from api_server.tools.rules import enforce_tool_rules, tool_rules_apply


@dataclass(frozen=True, slots=True)
class ModelRuntime:
    """A registered model with what serving it needs, built once at startup."""

    spec: ModelSpec
    format_prompt: PromptFormatter
    pool: EnginePool
    # The BOS text the prompt starts with: from the registry, or the model's own template.
    bos_token: str = ""
    # A hosted upstream's key from the model's `api_key_env`, read at startup.
    upstream_key: str | None = None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: ModelRuntime
    conversation: Conversation
    sampling: SamplingParams
    request_id: str
    # The client's credentials and protocol headers, for a hosted upstream that wants them.
    client_headers: Mapping[str, str] = field(default_factory=dict)
    # The client's end-user id (OpenAI `user`, Anthropic `metadata.user_id`), passed on to
    # a hosted upstream in its own field.
    end_user: str | None = None


async def generate_chat(
    request: ChatRequest, observer: GenerationObserver
) -> AsyncGenerator[ChatEvent, None]:
    """Yield text and tool-call events as the engine produces them, then `Finished`: a
    local engine's raw text parsed for tool calls, or a hosted upstream's chat answer."""
    spec = request.model.spec
    conversation = request.conversation
    events = (
        generate_upstream_chat(request, observer)
        if spec.engine.is_upstream
        else _generate_local(request, observer)
    )
    if tool_rules_apply(conversation, spec.tools):
        events = enforce_tool_rules(events, conversation, spec.tools, spec.name)
    async for event in events:
        yield event


def _generate_local(
    request: ChatRequest, observer: GenerationObserver
) -> AsyncGenerator[ChatEvent, None]:
    spec = request.model.spec
    conversation = request.conversation
    prompt, forced = chat_prompt(request.model, conversation)
    syntax = spec.tool_call_syntax if conversation.offers_tools else "none"
    completion = CompletionRequest(
        prompt=prompt,
        sampling=request.sampling,
        request_id=request.request_id,
        bos_token=request.model.bos_token,
        json_schema=_forced_arguments_schema(conversation) if forced else None,
    )
    return generate_text(request.model, completion, build_tool_parser(syntax), observer, forced)


def chat_prompt(model: ModelRuntime, conversation: Conversation) -> tuple[FormattedPrompt, str]:
    """The raw prompt for `conversation`, ending with the start of a forced tool call when
    tool_choice demands one; that start (model output the prompt holds) comes second."""
    spec = model.spec
    try:
        prompt = model.format_prompt(conversation)
    except PromptFormatError as exc:
        # The conversation cannot be expressed in this model's format: the client's to fix.
        raise InvalidRequestError(f"{spec.name}: {exc}", param="messages") from exc
    syntax = spec.tool_call_syntax if conversation.offers_tools else "none"
    forced = forced_call_prefix(syntax, spec.prompt_family or "", conversation.tool_choice)
    if forced:
        prompt = replace(prompt, text=prompt.text + forced)
    return prompt, forced


def _forced_arguments_schema(conversation: Conversation) -> dict[str, Any] | None:
    """With a named tool forced, the prompt ends just before its arguments: constraining the
    rest to the tool's parameter schema makes even a small model produce a valid call."""
    choice = conversation.tool_choice
    if not isinstance(choice, NamedToolChoice):
        return None
    tool = next((t for t in conversation.tools if t.name == choice.name), None)
    if tool is None or tool.parameters.get("type") != "object":
        return None
    return tool.parameters


class GenerationObserver(Protocol):
    """What the generation path reports about a request (see `api_server.tracking`)."""

    def engine_chosen(self, replica: EngineReplica) -> None: ...
    def first_token(self) -> None: ...
    def engine_failed(self, replica: EngineReplica, error: EngineError) -> None: ...
    def upstream_retried(self, replica: EngineReplica, reason: str) -> None: ...
    def completed(self, usage: Usage) -> None: ...


async def generate_text(
    runtime: ModelRuntime,
    completion: CompletionRequest,
    parser: ToolCallParser,
    observer: GenerationObserver,
    prefilled: str = "",
) -> AsyncGenerator[ChatEvent, None]:
    """Stream one engine completion through `parser`, reporting to `observer`.
    `prefilled` is model output the prompt already holds; the parser reads it first."""
    replica = runtime.pool.pick()
    observer.engine_chosen(replica)
    first_token_seen = False
    text_chunks = 0
    called_tool = False
    for event in parser.feed(prefilled) if prefilled else ():
        called_tool = called_tool or isinstance(event, ToolCallStart)
        yield event
    engine_finish: str | None = None
    engine_stop: str | None = None
    usage: Usage | None = None
    try:
        async for chunk in replica.stream_completion(completion, timeout_s=runtime.spec.timeout_s):
            if chunk.usage is not None:
                usage = chunk.usage
            if chunk.finish_reason is not None:
                engine_finish = chunk.finish_reason
                engine_stop = chunk.stop_reason
            if not chunk.text:
                continue
            if not first_token_seen:
                first_token_seen = True
                observer.first_token()
            text_chunks += 1
            for event in parser.feed(chunk.text):
                called_tool = called_tool or isinstance(event, ToolCallStart)
                yield event
    except EngineError as exc:
        if isinstance(exc, EngineUnavailableError):
            runtime.pool.mark_down(replica)
        observer.engine_failed(replica, exc)
        raise
    for event in parser.finish():
        called_tool = called_tool or isinstance(event, ToolCallStart)
        yield event

    # Engines that report no usage in the stream send about one token per chunk.
    usage = usage or Usage(prompt_tokens=0, completion_tokens=text_chunks)
    observer.completed(usage)
    reason = _finish_reason(engine_finish, called_tool)
    # Only the client's own stop sequences count, not the template's end-of-turn strings.
    stop_sequence = engine_stop if engine_stop in completion.sampling.stop else None
    yield Finished(reason, usage, stop_sequence if reason == "stop" else None)


def _finish_reason(engine_finish: str | None, called_tool: bool) -> FinishReason:
    # "length" first: a call cut off by max_tokens has unfinished arguments, and a client
    # told "tool_calls" would run it.
    if engine_finish == "length":
        return "length"
    return "tool_calls" if called_tool else "stop"


__all__ = [
    "ChatRequest",
    "ModelRuntime",
    "TextDelta",
    "chat_prompt",
    "generate_chat",
    "generate_text",
]
