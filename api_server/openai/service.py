"""OpenAI chat and text completions: validate, translate, generate, render."""

from __future__ import annotations

import logging
from dataclasses import replace

from api_server.chat.streaming import (
    JsonResult,
    RelayResult,
)
from api_server.engines.types import CompletionRequest
from api_server.errors import UnsupportedFeatureError
from api_server.frontdoor.choices import (
    ChoicesObserver,
    choice_completes,
    choice_sampling,
    merged_choices,
)
from api_server.frontdoor.service import FrontDoorResult, FrontDoorService, log_unknown_fields
from api_server.generation.local import generate_text
from api_server.generation.request import ChatRequest
from api_server.generation.translation import TranslationCapture
from api_server.openai.completions import TextCompletionState
from api_server.openai.output_format import output_format_from
from api_server.openai.protocol import ChatCompletionRequest, CompletionRequestIn, SamplingFields
from api_server.openai.render import ChatChunkRenderer, ChatCompletionAssembler
from api_server.openai.text_plan import text_completion_plan
from api_server.openai.translate import to_conversation, to_sampling
from api_server.prompts.base import FormattedPrompt
from api_server.tools import build_tool_parser
from api_server.tracking import RequestTracker
from api_server.validation import parse_body

logger = logging.getLogger(__name__)


OpenAIResult = FrontDoorResult


class OpenAIService(FrontDoorService):
    api_flavour = "openai"

    async def chat_completion(self, body: bytes) -> OpenAIResult:
        return await self._tracked("/v1/chat/completions", self._chat_completion, body)

    async def text_completion(self, body: bytes) -> OpenAIResult:
        return await self._tracked("/v1/completions", self._text_completion, body)

    async def _chat_completion(
        self,
        body: bytes,
        tracker: RequestTracker,
    ) -> OpenAIResult:
        if (relayed := await self._relay(body, tracker, "/v1/chat/completions")) is not None:
            return relayed
        request = parse_body(ChatCompletionRequest, body)
        log_unknown_fields(request.unknown_fields(), "chat.completions")
        runtime = self.state.runtime_for(request.model)
        await self._admit(runtime, tracker, stream=request.stream, end_user=request.user)
        conversation = await self._translated(
            bool(request.tools), to_conversation, request, runtime.spec.accepts_images
        )
        output_format = await self._translated(
            request.response_format is not None, output_format_from, request.response_format
        )
        translation = TranslationCapture() if self.debug_translation else None
        if translation is not None:
            tracker.capture_translation(translation)
        chat = ChatRequest(
            model=runtime,
            conversation=conversation,
            sampling=to_sampling(
                request, runtime.spec, self._default_temperature(runtime), output_format
            ),
            request_id=self.request_id,
            client_headers=self.client_headers,
            priority=self.engine_priority,
            end_user=request.user,
            translation=translation,
        )
        choices = request.n or 1
        if choices > 1:
            return await self._choices(chat, choices, request, tracker, translation)
        generation = await self._cached_generation(
            chat,
            tracker,
            paced=request.stream,
            cache_requested=request.cache,
            semantic_requested=request.semantic_cache,
        )
        events = tracker.observed(generation.events)
        top_logprobs = chat.sampling.logprobs
        if request.stream:
            renderer = ChatChunkRenderer(
                runtime.spec.name, _include_usage(request), translation, top_logprobs
            )
            return await self._stream(
                tracker,
                events,
                renderer.render,
                renderer.render_error,
                renderer.opening(),
                generation.headers,
            )
        assembler = ChatCompletionAssembler(runtime.spec.name, translation, top_logprobs)
        async for event in events:
            assembler.add(event)
        return JsonResult(assembler.result(), generation.headers)

    async def _choices(
        self,
        chat: ChatRequest,
        choices: int,
        request: ChatCompletionRequest,
        tracker: RequestTracker,
        translation: TranslationCapture | None,
    ) -> OpenAIResult:
        """`n` choices: a generation each (choice_sampling), never from or into the caches
        (one cached answer would be every choice)."""
        observer = ChoicesObserver(tracker, choices)
        streams = []
        for index in range(choices):
            generation = await self._cached_generation(
                replace(chat, sampling=choice_sampling(chat.sampling, index)),
                observer.member(index),
                paced=False,
                cache_requested=False,
                semantic_requested=False,
            )
            streams.append(generation.events)
        events = merged_choices(streams)
        model, top_logprobs = chat.model.spec.name, chat.sampling.logprobs
        if request.stream:
            renderer = ChatChunkRenderer(
                model, _include_usage(request), translation, top_logprobs, choices
            )
            return await self._stream(
                tracker,
                events,
                renderer.render_choice,
                renderer.render_error,
                renderer.opening(),
                completes=choice_completes,
            )
        assembler = ChatCompletionAssembler(model, translation, top_logprobs, choices)
        async for choice_event in events:
            assembler.add(choice_event.event, choice_event.index)
        return JsonResult(assembler.result())

    async def _text_completion(self, body: bytes, tracker: RequestTracker) -> OpenAIResult:
        if (relayed := await self._relay(body, tracker, "/v1/completions")) is not None:
            return relayed
        request = parse_body(CompletionRequestIn, body)
        log_unknown_fields(request.unknown_fields(), "completions")
        runtime = self.state.runtime_for(request.model)
        if runtime.spec.engine.is_upstream:
            raise UnsupportedFeatureError(
                f"Model {runtime.spec.name} is served by an Anthropic-style upstream, which "
                "has no text completions: use /v1/chat/completions",
                param="model",
            )
        plan = text_completion_plan(request)
        await self._admit(runtime, tracker, stream=request.stream, end_user=request.user)
        sampling = to_sampling(request, runtime.spec, self._default_temperature(runtime))
        state = TextCompletionState(
            runtime.spec.name, _include_usage(request), sampling.logprobs, plan
        )
        if plan.candidates > plan.choices and sampling.logprobs is None:
            sampling = replace(sampling, logprobs=0)  # best_of ranks by them; not shown
        completions = [
            CompletionRequest(
                # A raw prompt is the client's own text: the engine adds BOS as it would.
                prompt=FormattedPrompt(text=plan.prompt_of(g), starts_with_bos=False),
                sampling=choice_sampling(sampling, g % plan.candidates),
                request_id=self.request_id,
                priority=self.engine_priority,
            )
            for g in range(plan.generations)
        ]
        parser = build_tool_parser("none")
        if len(completions) == 1:
            events = tracker.observed(generate_text(runtime, completions[0], parser, tracker))
            if request.stream:
                return await self._stream(
                    tracker, events, state.render, ChatChunkRenderer.render_error, b""
                )
            async for event in events:
                state.add(event)
            return state.result()
        observer = ChoicesObserver(tracker, len(completions), per_prompt=plan.candidates)
        merged = merged_choices(
            [
                generate_text(runtime, completion, parser, observer.member(g))
                for g, completion in enumerate(completions)
            ]
        )
        if request.stream:  # never with best_of (text_completion_plan)
            return await self._stream(
                tracker,
                merged,
                state.render_choice,
                ChatChunkRenderer.render_error,
                b"",
                completes=choice_completes,
            )
        async for choice_event in merged:
            state.add(choice_event.event, choice_event.index)
        return state.result()

    async def _relay(self, body: bytes, tracker: RequestTracker, path: str) -> RelayResult | None:
        """Relayed as is when the model is an OpenAI-style upstream."""
        return await self._relayed(
            body, tracker, kind="openai", path=path, render_error=ChatChunkRenderer.render_error
        )


def _include_usage(request: SamplingFields) -> bool:
    return bool(request.stream_options and request.stream_options.include_usage)
