"""Anthropic Messages: validate, map the model, translate, generate, render; and token
counts through the engine's own tokenizer."""

from __future__ import annotations

import logging

from api_server.anthropic.model_names import map_model_name
from api_server.anthropic.protocol import CountTokensRequest, MessagesRequest
from api_server.anthropic.render import MessageAssembler, MessageStreamRenderer
from api_server.anthropic.translate import (
    to_conversation,
    to_output_format,
    to_sampling,
    tool_names_for,
)
from api_server.auth.principal import authorize_model
from api_server.chat.streaming import JsonResult, RelayResult
from api_server.errors import EngineError, UnsupportedFeatureError
from api_server.frontdoor.service import FrontDoorResult, FrontDoorService, log_unknown_fields
from api_server.generation.local import chat_prompt
from api_server.generation.request import ChatRequest, ModelRuntime
from api_server.tracking import RequestTracker
from api_server.validation import parse_body

logger = logging.getLogger(__name__)

MESSAGES_ENDPOINT = "/v1/messages"
COUNT_TOKENS_ENDPOINT = "/v1/messages/count_tokens"

AnthropicResult = FrontDoorResult


class AnthropicService(FrontDoorService):
    api_flavour = "anthropic"

    async def messages(self, body: bytes) -> AnthropicResult:
        return await self._tracked(MESSAGES_ENDPOINT, self._messages, body)

    async def count_tokens(self, body: bytes) -> AnthropicResult:
        return await self._tracked(COUNT_TOKENS_ENDPOINT, self._count_tokens, body)

    async def _messages(
        self,
        body: bytes,
        tracker: RequestTracker,
    ) -> AnthropicResult:
        if (relayed := await self._relay(body, tracker, MESSAGES_ENDPOINT)) is not None:
            return relayed
        request = parse_body(MessagesRequest, body)
        log_unknown_fields(request.unknown_fields(), MESSAGES_ENDPOINT)
        runtime = await self._runtime_for(request.model)
        end_user = request.metadata.user_id if request.metadata else None
        await self._admit(runtime, tracker, stream=request.stream, end_user=end_user)
        names = tool_names_for(request, self.state.settings.tool_name_map)
        conversation = await self._translated(
            bool(request.tools),
            to_conversation,
            request,
            names,
            runtime.spec.name,
            runtime.spec.accepts_images,
        )
        output_format = await self._translated(
            request.output_format is not None, to_output_format, request.output_format
        )
        if request.thinking is not None:
            logger.info("model %s writes no thinking blocks: answering without", runtime.spec.name)
        chat = ChatRequest(
            model=runtime,
            conversation=conversation,
            sampling=to_sampling(
                request, runtime.spec, self._default_temperature(runtime), output_format
            ),
            request_id=self.request_id,
            client_headers=self.client_headers,
            priority=self.engine_priority,
            end_user=end_user,
        )
        # Anthropic's own `cache_control` (prompt caching) is another thing: no body opt-in.
        generation = await self._cached_generation(chat, tracker, paced=request.stream)
        events = tracker.observed(generation.events)
        if request.stream:
            renderer = MessageStreamRenderer(runtime.spec.name, names)
            return await self._stream(
                tracker,
                events,
                renderer.render,
                renderer.render_error,
                renderer.opening(),
                generation.headers,
            )
        assembler = MessageAssembler(runtime.spec.name, names)
        async for event in events:
            assembler.add(event)
        return JsonResult(assembler.result(), generation.headers)

    async def _count_tokens(self, body: bytes, tracker: RequestTracker) -> AnthropicResult:
        if (relayed := await self._relay(body, tracker, COUNT_TOKENS_ENDPOINT)) is not None:
            return relayed
        request = parse_body(CountTokensRequest, body)
        log_unknown_fields(request.unknown_fields(), COUNT_TOKENS_ENDPOINT)
        runtime = await self._runtime_for(request.model)
        authorize_model(self.principal, runtime.spec)  # counting is not rate limited
        if runtime.spec.engine.is_upstream:  # an Anthropic upstream was relayed above
            raise UnsupportedFeatureError(
                f"Counting tokens is not available for model {runtime.spec.name}: its "
                "OpenAI-style upstream has no token-counting endpoint",
                param="model",
            )
        tracker.model_named(self.state.registry.accounting_name(runtime.spec), runtime.spec.name)
        conversation = await self._translated(
            bool(request.tools),
            to_conversation,
            request,
            tool_names_for(request, self.state.settings.tool_name_map),
            runtime.spec.name,
        )
        prompt, _ = chat_prompt(runtime, conversation)
        with runtime.pool.lease(tracker) as lease:
            try:
                count = await lease.replica.count_tokens(
                    prompt, runtime.bos_token, timeout_s=runtime.spec.timeout_s
                )
            except EngineError as exc:
                lease.failed(exc)
                raise
        return {"input_tokens": count}

    async def _relay(self, body: bytes, tracker: RequestTracker, path: str) -> RelayResult | None:
        """Relayed as is when the (mapped) model is an Anthropic-style upstream."""
        return await self._relayed(
            body,
            tracker,
            kind="anthropic",
            path=path,
            render_error=MessageStreamRenderer.render_error,
            resolve=self._runtime_for,
        )

    async def _runtime_for(self, requested: str) -> ModelRuntime:
        """Claude names go through `anthropic_model_map`; then the registry resolves the
        name as for any client (aliases, any letter case) or answers 404. A name only the
        catch-all entry takes goes to its OpenAI-style upstream spelled as that lists it."""
        registry = self.state.registry
        name = map_model_name(
            requested,
            self.state.settings.anthropic_model_map,
            registry.is_explicit,
            registry.named_default,
        )
        runtime = self.state.runtime_for(name)
        catch_all = registry.catch_all
        if catch_all is None or catch_all.engine.kind != "openai" or registry.is_explicit(name):
            return runtime
        spelled = await self.state.model_catalog.spelling(
            self.state.runtimes[catch_all.name], name, self.client_headers
        )
        return runtime if spelled == name else self.state.runtime_for(spelled)
