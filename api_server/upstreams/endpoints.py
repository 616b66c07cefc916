"""Where each kind of hosted upstream takes a request, and how its stream reads back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from api_server.chat.events import ChatEvent, Finished
from api_server.registry import EngineSpec
from api_server.upstreams.anthropic_wire import AnthropicEventReader, anthropic_messages_body
from api_server.upstreams.openai_wire import OpenAIChunkReader, openai_chat_body

if TYPE_CHECKING:  # the chat path imports this module: no import cycle at runtime
    from api_server.generation.request import ChatRequest


class UpstreamReader(Protocol):
    def feed(self, event_type: str | None, payload: dict[str, Any]) -> list[ChatEvent]: ...
    def finished(self) -> Finished: ...

    @property
    def ended(self) -> bool:
        """The stream said it was complete (a finish reason, message_stop)."""
        ...


@dataclass(frozen=True, slots=True)
class UpstreamDialect:
    chat_path: str  # appended to the model's base URL
    build_body: Callable[[ChatRequest, EngineSpec], dict[str, Any]]
    new_reader: Callable[[], UpstreamReader]


def _openai_body(request: ChatRequest, engine: EngineSpec) -> dict[str, Any]:
    body = openai_chat_body(
        request.conversation, request.sampling, engine.served_name, engine.max_tokens_field
    )
    if request.end_user:
        body["user"] = request.end_user
    return body


def _anthropic_body(request: ChatRequest, engine: EngineSpec) -> dict[str, Any]:
    body = anthropic_messages_body(request.conversation, request.sampling, engine.served_name)
    if request.end_user:
        body["metadata"] = {"user_id": request.end_user}
    return body


# OpenAI base URLs carry the version (`https://api.openai.com/v1`, as its SDK's base_url);
# Anthropic's do not (`https://api.anthropic.com`, as its SDK's).
UPSTREAM_DIALECTS = {
    "openai": UpstreamDialect("/chat/completions", _openai_body, OpenAIChunkReader),
    "anthropic": UpstreamDialect("/v1/messages", _anthropic_body, AnthropicEventReader),
}


def upstream_url(base_url: str, kind: str, client_path: str) -> str:
    """The upstream URL for a client's path on the same protocol (`/v1/chat/completions`
    → `{base}/chat/completions` for OpenAI; Anthropic paths keep their `/v1`)."""
    if kind == "openai" and client_path.startswith("/v1/"):
        client_path = client_path[3:]
    return f"{base_url}{client_path}"
