"""OpenAI chat and text completions: validate, translate, generate, render."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from api_server.chat.events import ChatEvent
from api_server.chat.generation import ChatRequest, generate_chat, generate_text
from api_server.engines.types import CompletionRequest
from api_server.errors import InferstackError, UnsupportedFeatureError
from api_server.openai.completions import TextCompletionState
from api_server.openai.protocol import ChatCompletionRequest, CompletionRequestIn, SamplingFields
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
        return await self._tracked("chat.completions", self._chat_completion, body)

    async def text_completion(self, body: bytes) -> OpenAIResult:
        return await self._tracked("completions", self._text_completion, body)

    async def _tracked(
        self,
        endpoint: str,
        handler: Callable[[bytes, RequestTracker], Awaitable[OpenAIResult]],
        body: bytes,
    ) -> OpenAIResult:
        """Every request is counted, refused ones too; a stream finishes its own tracking."""
        tracker = RequestTracker(self.state, endpoint)
        try:
            result = await handler(body, tracker)
        except BaseException as exc:
            tracker.finish(exc)
            raise
        if not isinstance(result, StreamResult):
            tracker.finish(None)
        return result

    async def _chat_completion(self, body: bytes, tracker: RequestTracker) -> OpenAIResult:
        request = parse_body(ChatCompletionRequest, body)
        _log_unknown_fields(request.unknown_fields(), "chat.completions")
        runtime = self.state.runtime_for(request.model)
        tracker.model = runtime.spec.name
        chat = ChatRequest(
            model=runtime,
            conversation=to_conversation(request),
            sampling=to_sampling(request, runtime.spec, self.state.settings.default_temperature),
            request_id=self.request_id,
        )
        events = generate_chat(chat, self.state.metrics)
        if request.stream:
            renderer = ChatChunkRenderer(runtime.spec.name, _include_usage(request))
            return await self._stream(
                tracker, events, renderer.render, renderer.render_error, renderer.opening()
            )
        assembler = ChatCompletionAssembler(runtime.spec.name)
        async for event in events:
            assembler.add(event)
        return assembler.result()

    async def _text_completion(self, body: bytes, tracker: RequestTracker) -> OpenAIResult:
        request = parse_body(CompletionRequestIn, body)
        _log_unknown_fields(request.unknown_fields(), "completions")
        runtime = self.state.runtime_for(request.model)
        tracker.model = runtime.spec.name
        completion = CompletionRequest(
            # A raw prompt is the client's own text: the engine adds BOS as it would.
            prompt=FormattedPrompt(text=_single_prompt(request), starts_with_bos=False),
            sampling=to_sampling(request, runtime.spec, self.state.settings.default_temperature),
            request_id=self.request_id,
        )
        events = generate_text(runtime, completion, build_tool_parser("none"), self.state.metrics)
        state = TextCompletionState(runtime.spec.name, _include_usage(request))
        if request.stream:
            return await self._stream(
                tracker, events, state.render, ChatChunkRenderer.render_error, b""
            )
        async for event in events:
            state.add(event)
        return state.result()

    async def _stream(
        self,
        tracker: RequestTracker,
        events: AsyncGenerator[ChatEvent, None],
        render: Callable[[ChatEvent], bytes],
        render_error: Callable[[InferstackError], bytes],
        opening: bytes,
    ) -> StreamResult:
        """Pull the first event before answering, so an engine that is down or refuses
        the request gets a proper HTTP error instead of a 200 stream. From here on the
        stream owns `tracker`."""
        first = await anext(events)

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
            except Exception as exc:
                # A bug must still end the stream properly, not cut the connection.
                error = exc
                logger.exception("stream %s failed", self.request_id)
                yield render_error(InferstackError("The gateway hit an internal error"))
            except BaseException as exc:
                error = exc
                raise
            finally:
                await events.aclose()
                tracker.finish(error)

        return StreamResult(chunks())


def _include_usage(request: SamplingFields) -> bool:
    return bool(request.stream_options and request.stream_options.include_usage)


def _single_prompt(request: CompletionRequestIn) -> str:
    # Refused rather than dropped: each would change what the client gets back.
    refused = {
        "echo": bool(request.echo),
        "logprobs": request.logprobs is not None,
        "suffix": request.suffix is not None,
        "best_of": (request.best_of or 1) > 1,
    }
    for param, asked in refused.items():
        if asked:
            raise UnsupportedFeatureError(f"{param} is not supported yet", param=param)
    prompt = request.prompt
    if isinstance(prompt, str):
        return prompt
    if len(prompt) != 1:
        raise UnsupportedFeatureError("Only one prompt per request is supported", param="prompt")
    return prompt[0]


class RequestTracker:
    """Counts a request in flight and records its status and latency when it ends.
    The model label is "unknown" until the request names a served model."""

    def __init__(self, state: AppState, endpoint: str) -> None:
        self.metrics = state.metrics
        self.endpoint = endpoint
        self._model = "unknown"
        self.started = time.perf_counter()
        self.metrics.in_flight.labels(self._model).inc()

    @property
    def model(self) -> str:
        return self._model

    @model.setter
    def model(self, name: str) -> None:
        self.metrics.in_flight.labels(self._model).dec()
        self.metrics.in_flight.labels(name).inc()
        self._model = name

    def finish(self, error: BaseException | None) -> None:
        metrics = self.metrics
        metrics.in_flight.labels(self._model).dec()
        metrics.requests.labels(self.endpoint, self._model, _status_label(error)).inc()
        metrics.request_latency.labels(self.endpoint, self._model).observe(
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


def _log_unknown_fields(fields: list[str], endpoint: str) -> None:
    if fields:
        logger.info("%s: ignoring unsupported fields %s", endpoint, ", ".join(fields))
