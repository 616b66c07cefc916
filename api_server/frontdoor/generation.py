"""The choice every front door's chat makes: a hosted upstream answers it, or a local
engine does; either way under the model's tool-call rules."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from api_server.chat.events import ChatEvent
from api_server.generation.local import generate_local_chat
from api_server.generation.request import ChatRequest, GenerationObserver
from api_server.generation.tool_rules import enforce_tool_rules, tool_rules_apply
from api_server.upstreams.chat import generate_upstream_chat


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
        else generate_local_chat(request, observer)
    )
    if tool_rules_apply(conversation, spec.tools):
        events = enforce_tool_rules(events, conversation, spec.tools, spec.name)
    async for event in events:
        yield event
