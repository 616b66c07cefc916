"""What the gateway would send an engine for a chat request, built by the gateway's own
code, so a load test can send the engine exactly that directly (`--direct-url`) and set
the two side by side: the gateway's cost is the difference.

From the registry entry of the model (`configs/models.yaml`): its prompt formatter
(`api_server.registry.prompt_formatter`, as the gateway's runtime is built), the chat body
read as the OpenAI front door reads it (`to_conversation`, `to_sampling`, with the
gateway's default temperature where the request names none), and the engine's body from
`api_server.engines.dialects.build_completion_body` (max_tokens, the template's stop
strings or, with ignore_eos, none, `cache_prompt`, ...). Two things the gateway learns at
run time are fixed here: llama.cpp and MAX add BOS themselves (the gateway probes it), and
there is no tool call to force (the workloads send no tools).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from api_server.config import Settings
from api_server.engines.dialects import (
    ADDS_OWN_BOS_KINDS,
    build_completion_body,
    completion_path,
)
from api_server.engines.types import CompletionRequest
from api_server.openai.protocol import ChatCompletionRequest
from api_server.openai.translate import to_conversation, to_sampling
from api_server.prompts.base import PromptFormatter
from api_server.registry import (
    LOCAL_ENGINE_KINDS,
    EngineKind,
    ModelRegistry,
    ModelSpec,
    prompt_formatter,
)

MODELS_FILE = Path(__file__).resolve().parents[1] / "configs" / "models.yaml"
DIRECT_KINDS: tuple[str, ...] = tuple(str(kind) for kind in LOCAL_ENGINE_KINDS)
COMPLETIONS = "/v1/completions"


@dataclass(frozen=True)
class DirectTarget:
    """An engine measured directly: where it is, and how the gateway formats for it."""

    url: str
    kind: EngineKind
    spec: ModelSpec
    format_prompt: PromptFormatter
    bos_token: str
    default_temperature: float

    def describe(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "kind": self.kind,
            "model": self.spec.name,
            "served_name": self.spec.engine.served_name,
            "prompt_family": self.spec.prompt_family,
            "default_temperature": self.default_temperature,
            "engine_adds_bos": self.kind in ADDS_OWN_BOS_KINDS,
        }


def direct_target(models_file: Path, model: str, url: str, kind: str = "") -> DirectTarget:
    """The registry entry of `model` (name or alias) as the gateway reads `models_file`.
    `kind`: the engine's, when not the entry's own. Raises ValueError."""
    spec = ModelRegistry.from_file(models_file).resolve(model)
    engine_kind = kind or spec.engine.kind
    if engine_kind not in DIRECT_KINDS:
        raise ValueError(
            f"{spec.name} is served by {spec.engine.kind}: only a local engine "
            f"({', '.join(DIRECT_KINDS)}) can be measured directly"
        )
    formatter, bos_token = prompt_formatter(spec)
    default_temperature = Settings.model_fields["default_temperature"].default
    return DirectTarget(
        url=url.rstrip("/"),
        kind=cast(EngineKind, engine_kind),
        spec=spec,
        format_prompt=formatter,
        bos_token=bos_token,
        default_temperature=float(default_temperature),
    )


def engine_body(target: DirectTarget, chat_body: dict[str, Any]) -> dict[str, Any]:
    """The streaming `/v1/completions` body the gateway sends `target`'s engine for
    `chat_body` (an OpenAI chat request). Raises ValueError where the gateway would go to
    llama.cpp's native endpoint instead (client stop strings), which is not measured here."""
    request = ChatCompletionRequest.model_validate(chat_body)
    spec = target.spec
    conversation = to_conversation(request, spec.accepts_images)
    sampling = to_sampling(request, spec, target.default_temperature)
    completion = CompletionRequest(
        prompt=target.format_prompt(conversation),
        sampling=sampling,
        request_id="direct",
        bos_token=target.bos_token,
    )
    if completion_path(target.kind, completion) != COMPLETIONS:
        raise ValueError("requests with stop strings go to llama.cpp's native /completion")
    return build_completion_body(
        target.kind,
        spec.engine.served_name,
        completion,
        engine_adds_bos=target.kind in ADDS_OWN_BOS_KINDS,
    )
