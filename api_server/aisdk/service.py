"""AI SDK requests: the UI message stream over the shared chat path, and titles."""

from __future__ import annotations

import logging

from api_server.aisdk.protocol import ChatStreamRequest, TitleRequest
from api_server.aisdk.render import STREAM_HEADER, STREAM_VERSION, UIMessageStreamRenderer
from api_server.aisdk.title import clean_title, fallback_title, title_conversation, title_sampling
from api_server.aisdk.translate import to_conversation, to_sampling
from api_server.chat.events import TextDelta
from api_server.frontdoor.generation import generate_chat
from api_server.frontdoor.service import FrontDoorResult, FrontDoorService, log_unknown_fields
from api_server.generation.request import ChatRequest, ModelRuntime
from api_server.tracking import RequestTracker
from api_server.validation import parse_body

logger = logging.getLogger(__name__)

CHAT_ENDPOINT = "/api/chat"
TITLE_ENDPOINT = "/v1/title"

AISDKResult = FrontDoorResult


class AISDKService(FrontDoorService):
    api_flavour = "aisdk"

    async def chat(self, body: bytes) -> AISDKResult:
        return await self._tracked(CHAT_ENDPOINT, self._chat, body)

    async def title(self, body: bytes) -> AISDKResult:
        return await self._tracked(TITLE_ENDPOINT, self._title, body)

    async def _chat(self, body: bytes, tracker: RequestTracker) -> AISDKResult:
        request = parse_body(ChatStreamRequest, body)
        log_unknown_fields(request.unknown_fields(), CHAT_ENDPOINT)
        runtime = await self._admitted_model(request.model, tracker, stream=True)
        conversation = await self._translated(
            bool(request.tools), to_conversation, request, runtime.spec.accepts_images
        )
        chat = ChatRequest(
            model=runtime,
            conversation=conversation,
            sampling=to_sampling(request, runtime.spec, self._default_temperature(runtime)),
            request_id=self.request_id,
            client_headers=self.client_headers,
            priority=self.engine_priority,
        )
        # The same caches as the other front doors (deterministic requests by default, or
        # Cache-Control / x-semantic-cache); a hit replays the original's pacing.
        generation = await self._cached_generation(chat, tracker, paced=True)
        renderer = UIMessageStreamRenderer()
        return await self._stream(
            tracker,
            tracker.observed(generation.events),
            renderer.render,
            renderer.render_error,
            renderer.opening(),
            {STREAM_HEADER: STREAM_VERSION, **generation.headers},
        )

    async def _title(self, body: bytes, tracker: RequestTracker) -> AISDKResult:
        request = parse_body(TitleRequest, body)
        log_unknown_fields(request.unknown_fields(), TITLE_ENDPOINT)
        # The configured small model writes titles; else the model the chat uses.
        model = self.state.settings.title_model or request.model
        runtime = await self._admitted_model(model, tracker, stream=False)
        chat = ChatRequest(
            model=runtime,
            conversation=title_conversation(request.messages),
            sampling=title_sampling(runtime.spec.max_tokens.limit),
            request_id=self.request_id,
            client_headers=self.client_headers,
            priority=self.engine_priority,
        )
        texts = [
            event.text
            async for event in tracker.observed(generate_chat(chat, tracker))
            if isinstance(event, TextDelta)
        ]
        limit = self.state.settings.title_max_chars
        title = clean_title("".join(texts), limit) or fallback_title(request.messages, limit)
        return {"title": title}

    async def _admitted_model(
        self, model: str | None, tracker: RequestTracker, *, stream: bool
    ) -> ModelRuntime:
        """The named model (aliases resolve as anywhere), else the registry's default."""
        runtime = self.state.runtime_for(model or self.state.registry.default_model)
        await self._admit(runtime, tracker, stream=stream)
        return runtime
