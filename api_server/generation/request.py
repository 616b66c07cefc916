"""The request every generation path takes (a local engine, a hosted upstream, the caches),
the model's runtime it names, and what a generation reports while it runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from api_server.chat.conversation import Conversation
from api_server.chat.events import Usage
from api_server.chat.sampling import SamplingParams
from api_server.engines.client import EngineReplica
from api_server.engines.pool import EnginePool
from api_server.errors import EngineError
from api_server.generation.translation import TranslationCapture
from api_server.prompts.base import PromptFormatter
from api_server.registry import ModelSpec


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
    # Filled in with the prompt and the engine's raw text when the debug mode asks for them.
    translation: TranslationCapture | None = field(default=None, compare=False)
    # The engine's scheduling priority (CompletionRequest.priority), for engines that take
    # one (the registry's engine.priority_scheduling); None otherwise.
    priority: int | None = None


class GenerationObserver(Protocol):
    """What the generation path reports about a request (see `api_server.tracking`)."""

    @property
    def affinity(self) -> str | None: ...

    def engine_chosen(self, replica: EngineReplica) -> None: ...
    def first_token(self) -> None: ...
    def engine_failed(self, replica: EngineReplica, error: EngineError) -> None: ...
    def engine_failed_over(self, replica: EngineReplica, kind: str) -> None: ...
    def upstream_retried(self, replica: EngineReplica, reason: str) -> None: ...
    def completed(self, usage: Usage) -> None: ...
