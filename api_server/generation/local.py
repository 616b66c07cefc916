"""Generation on a local engine: format the prompt, stream the engine, parse tool calls out
of the raw text. Streaming and non-streaming responses both consume this."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import replace
from typing import Any

from api_server.chat.conversation import Conversation, NamedToolChoice
from api_server.chat.events import (
    ChatEvent,
    Finished,
    FinishReason,
    Logprobs,
    ToolCallStart,
    Usage,
)
from api_server.chat.sampling import OutputFormat
from api_server.engines.dialects import CONSTRAINED_DECODING_KINDS
from api_server.engines.routing import route_for
from api_server.engines.schema_support import unenforced
from api_server.engines.types import CompletionRequest
from api_server.errors import EngineError, InvalidRequestError, UnsupportedFeatureError
from api_server.generation.continuation import (
    Progress,
    continued_request,
    continued_usage,
    may_fail_over,
)
from api_server.generation.request import ChatRequest, GenerationObserver, ModelRuntime
from api_server.prompts.base import FormattedPrompt
from api_server.prompts.errors import PromptFormatError
from api_server.registry import ModelSpec
from api_server.tools import build_tool_parser
from api_server.tools.base import ToolCallParser
from api_server.tools.forcing import forced_call_prefix


def generate_local_chat(
    request: ChatRequest, observer: GenerationObserver
) -> AsyncGenerator[ChatEvent, None]:
    spec = request.model.spec
    conversation = request.conversation
    prompt, forced = chat_prompt(request.model, conversation)
    if request.translation is not None:
        request.translation.prompt = prompt.text
    syntax = spec.tool_call_syntax if conversation.offers_tools else "none"
    completion = CompletionRequest(
        prompt=prompt,
        sampling=request.sampling,
        request_id=request.request_id,
        bos_token=request.model.bos_token,
        priority=request.priority,
        json_schema=(
            _forced_arguments_schema(conversation)
            if forced
            else output_schema(spec, request.sampling.output_format, conversation)
        ),
    )
    return generate_text(
        request.model,
        completion,
        build_tool_parser(syntax),
        observer,
        forced,
        raw_chunks=request.translation.raw_chunks if request.translation else None,
    )


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


def output_schema(
    spec: ModelSpec, output_format: OutputFormat | None, conversation: Conversation
) -> dict[str, Any] | None:
    """The schema the engine must hold the whole answer to, for a structured output; a 400
    naming the engine where that cannot be enforced (never an unconstrained answer)."""
    if output_format is None:
        return None
    kind, asked = spec.engine.kind, output_format.param
    refused = f"{asked} cannot be enforced for model {spec.name}: its engine ({kind})"
    if kind not in CONSTRAINED_DECODING_KINDS:
        raise UnsupportedFeatureError(
            f"{refused} has no constrained decoding on raw completions; use a model on "
            "llama.cpp or vLLM",
            param=asked,
        )
    if conversation.offers_tools:
        # The constraint covers the whole answer, so no tool call could be written.
        raise UnsupportedFeatureError(
            f"{asked} together with tools cannot be enforced for model {spec.name} ({kind}): "
            "the constrained answer could never call a tool; send tool_choice 'none', name "
            "the tool to call, or leave one of them out",
            param=asked,
        )
    gaps = unenforced(kind, output_format.constraint)
    if gaps:
        shown = ", ".join(gaps[:5]) + (f" and {len(gaps) - 5} more" if len(gaps) > 5 else "")
        raise UnsupportedFeatureError(
            f"{refused} would not hold the answer to {shown}; leave these out of the schema, "
            "or use a model on vLLM",
            param=asked,
        )
    return output_format.constraint


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


async def generate_text(
    runtime: ModelRuntime,
    completion: CompletionRequest,
    parser: ToolCallParser,
    observer: GenerationObserver,
    prefilled: str = "",
    raw_chunks: list[str] | None = None,
) -> AsyncGenerator[ChatEvent, None]:
    """Stream one engine completion through `parser`, reporting to `observer`; a replica
    that fails is left for another (`continuation`), each replica tried once.
    `prefilled` is model output the prompt already holds; the parser reads it first.
    `raw_chunks`, when given, receives the engine's text as it came, before parsing."""
    called_tool = False
    for event in parser.feed(prefilled) if prefilled else ():
        called_tool = called_tool or isinstance(event, ToolCallStart)
        yield event
    pool = runtime.pool
    route = await pool.recall(route_for(completion.prompt.text, observer.affinity, pool.routing))
    progress = Progress()
    tried: list[int] = []
    request: CompletionRequest | None = completion
    engine_finish: str | None = None
    engine_stop: str | None = None
    usage: Usage | None = None
    while request is not None:
        with pool.lease(observer, route, exclude=tried) as lease:
            try:
                async for chunk in lease.replica.stream_completion(
                    request, timeout_s=runtime.spec.timeout_s
                ):
                    lease.answered()
                    if chunk.usage is not None:
                        usage = chunk.usage
                    if chunk.finish_reason is not None:
                        engine_finish = chunk.finish_reason
                        engine_stop = chunk.stop_reason
                    if chunk.logprobs:  # before the text they belong to
                        yield Logprobs(chunk.logprobs)
                    if not chunk.text:
                        continue
                    if not progress.started:
                        observer.first_token()
                    progress.add(chunk.text, len(chunk.logprobs) or 1)
                    if raw_chunks is not None:
                        raw_chunks.append(chunk.text)
                    for event in parser.feed(chunk.text):
                        called_tool = called_tool or isinstance(event, ToolCallStart)
                        yield event
                break
            except EngineError as exc:
                lease.failed(exc)
                tried.append(lease.replica.index)
                if not (may_fail_over(exc, request, progress) and pool.has_untried(tried)):
                    raise
                observer.engine_failed_over(
                    lease.replica, "continuation" if progress.started else "retry"
                )
                progress.tokens_before = progress.tokens
                request = continued_request(completion, progress)
                if request is None:  # it died having spent the budget exactly
                    engine_finish = "length"
    for event in parser.finish():
        called_tool = called_tool or isinstance(event, ToolCallStart)
        yield event

    usage = continued_usage(usage, progress)
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
