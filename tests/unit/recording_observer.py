"""A generation observer that writes down what it is told, in order, for tests of the
generation path (`api_server.generation.request.GenerationObserver`)."""

from __future__ import annotations

from api_server.chat.events import Usage
from api_server.engines.client import EngineReplica
from api_server.errors import EngineError


class RecordingObserver:
    affinity = None

    def __init__(self) -> None:
        self.seen: list[str] = []

    def engine_chosen(self, replica: EngineReplica) -> None:
        self.seen.append(f"chosen {replica.label}")

    def first_token(self) -> None:
        self.seen.append("first token")

    def engine_failed(self, replica: EngineReplica, error: EngineError) -> None:
        self.seen.append(f"failed {type(error).__name__}")

    def engine_failed_over(self, replica: EngineReplica, kind: str) -> None:
        self.seen.append(f"failed over ({kind})")

    def upstream_retried(self, replica: EngineReplica, reason: str) -> None:
        self.seen.append(f"retried {reason}")

    def completed(self, usage: Usage) -> None:
        self.seen.append(f"completed {usage.prompt_tokens}+{usage.completion_tokens}")
