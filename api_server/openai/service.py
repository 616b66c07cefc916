"""OpenAI chat and text completions: validate, translate, generate, render."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from api_server.chat.events import ChatEvent, Finished
from api_server.chat.generation import ChatRequest, ModelRuntime, generate_chat, generate_text
from api_server.engines.types import CompletionRequest
from api_server.errors import InferstackError, UnsupportedFeatureError
from api_server.openai.completions import TextCompletionState
from api_server.openai.protocol import ChatCompletionRequest, CompletionRequestIn
from api_server.openai.responses import ChatChunkRenderer, ChatCompletionAssembler
from api_server.openai.translate import to_conversation, to_sampling
from api_server.prompts.base import FormattedPrompt
from api_server.state import AppState
from api_server.tools import build_tool_parser
from api_server.validation import parse_body

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamResult:
    """A stream whose first event is already known to have succeeded."""

    chunks: AsyncIterator[bytes]


OpenAIResult = dict[str, Any] | StreamResult


class OpenAIService:
    def __init__(self, state: AppState, request_id: str) -> None:
        self.state = state
        self.request_id = request_id

    async def chat_completion(self, body: bytes) -> OpenAIResult:
        request = parse_body(ChatCompletionRequest, body)
        _log_unknown_fields(request.unknown_fields(), "chat.completions")
        runtime = self.state.runtime_for(request.model)
        chat = ChatRequest(
            model=runtime,
            conversation=to_conversation(request),
            sampling=to_sampling(request, runtime.spec, self.state.settings.default_temperature),
            request_id=self.request_id,
        )
        events = generate_chat(chat, self.state.metrics)
        endpoint = "chat.completions"
        if request.stream:
            include_usage = bool(request.stream_options and request.stream_options.include_usage)
            renderer = ChatChunkRenderer(runtime.spec.name, include_usage)
            return await self._stream(
                endpoint,
                runtime,
                events,
                renderer.render,
                renderer.render_error,
                renderer.opening(),
            )
        assembler = ChatCompletionAssembler(runtime.spec.name)
        async for event in self._tracked_events(endpoint, runtime, events):
            assembler.add(event)
        return assembler.result()

    async def text_completion(self, body: bytes) -> OpenAIResult:
        request = parse_body(CompletionRequestIn, body)
        _log_unknown_fields(request.unknown_fields(), "completions")
        runtime = self.state.runtime_for(request.model)
        prompt = request.prompt
        if isinstance(prompt, list):
            if len(prompt) != 1:
                raise UnsupportedFeatureError(
                    "Only one prompt per request is supported", param="prompt"
                )
            prompt = prompt[0]
        if request.echo:
            raise UnsupportedFeatureError("echo is not supported", param="echo")
        completion = CompletionRequest(
            # A raw prompt is the client's own text: the engine adds BOS as it normally would.
            prompt=FormattedPrompt(text=prompt, starts_with_bos=False),
            sampling=to_sampling(request, runtime.spec, self.state.settings.default_temperature),
            request_id=self.request_id,
        )
        events = generate_text(runtime, completion, build_tool_parser("none"), self.state.metrics)
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        state = TextCompletionState(runtime.spec.name, include_usage)
        endpoint = "completions"
        if request.stream:
            return await self._stream(
                endpoint, runtime, events, state.render, _render_stream_error, b""
            )
        finished: Finished | None = None
        async for event in self._tracked_events(endpoint, runtime, events):
            state.add(event)
            if isinstance(event, Finished):
                finished = event
        assert finished is not None
        return state.result(finished)

    async def _tracked_events(
        self, endpoint: str, runtime: ModelRuntime, events: AsyncIterator[ChatEvent]
    ) -> AsyncIterator[ChatEvent]:
        tracker = RequestTracker(self.state, endpoint, runtime.spec.name)
        error: BaseException | None = None
        try:
            async for event in events:
                yield event
        except BaseException as exc:
            error = exc
            raise
        finally:
            tracker.finish(error)

    async def _stream(
        self,
        endpoint: str,
        runtime: ModelRuntime,
        events: AsyncIterator[ChatEvent],
        render: Callable[[ChatEvent], bytes],
        render_error: Callable[[InferstackError], bytes],
        opening: bytes,
    ) -> StreamResult:
        """Pull the first event before answering, so an engine that is down or refuses
        the request gets a proper HTTP error instead of a 200 stream."""
        tracker = RequestTracker(self.state, endpoint, runtime.spec.name)
        try:
            first = await anext(events)
        except BaseException as exc:
            tracker.finish(exc)
            raise

        async def chunks() -> AsyncIterator[bytes]:
            error: BaseException | None = None
            try:
                yield opening + render(first)
                async for event in events:
                    yield render(event)
            except InferstackError as exc:
                error = exc
                logger.warning(
                    "stream %s ended with %s: %s", self.request_id, type(exc).__name__, exc.message
                )
                yield render_error(exc)
            except BaseException as exc:
                error = exc
                raise
            finally:
                await events.aclose()  # type: ignore[attr-defined]
                tracker.finish(error)

        return StreamResult(chunks())


class RequestTracker:
    """Counts a request in flight and records its status and latency when it ends."""

    def __init__(self, state: AppState, endpoint: str, model: str) -> None:
        self.metrics = state.metrics
        self.endpoint = endpoint
        self.model = model
        self.started = time.perf_counter()
        self.metrics.in_flight.labels(model).inc()

    def finish(self, error: BaseException | None) -> None:
        metrics = self.metrics
        metrics.in_flight.labels(self.model).dec()
        metrics.requests.labels(self.endpoint, self.model, _status_label(error)).inc()
        metrics.request_latency.labels(self.endpoint, self.model).observe(
            time.perf_counter() - self.started
        )


def _status_label(error: BaseException | None) -> str:
    if error is None:
        return "200"
    if isinstance(error, InferstackError):
        return str(error.status_code)
    if isinstance(error, GeneratorExit | asyncio.CancelledError):
        return "499"  # the client went away
    return "500"


def _render_stream_error(error: InferstackError) -> bytes:
    return ChatChunkRenderer.render_error(error)


def _log_unknown_fields(fields: list[str], endpoint: str) -> None:
    if fields:
        logger.info("%s: ignoring unsupported fields %s", endpoint, ", ".join(fields))
