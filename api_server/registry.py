"""The model registry (`configs/models.yaml`): which public model runs where, and how.

Lookups forgive case and accept aliases, since users type `Llama-3.1-8b-instruct`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

from api_server.errors import InvalidRequestError, ModelNotFoundError
from api_server.prompts import PROMPT_FAMILIES, PromptFormatter, build_formatter
from api_server.prompts.template_source import load_chat_template
from api_server.tools import TOOL_CALL_SYNTAXES

EngineKind = Literal["llamacpp", "vllm", "max", "openai", "anthropic"]
# Engines the gateway formats prompts for; the others are hosted chat APIs it forwards to.
LOCAL_ENGINE_KINDS: tuple[EngineKind, ...] = ("llamacpp", "vllm", "max")
UpstreamKind = Literal["openai", "anthropic"]
# A registry entry named this serves every model name no other entry claims (the proxy
# mode of `inferstack run`): the client's own model name goes upstream.
CATCH_ALL_MODEL = "*"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UpstreamAuth(_Frozen):
    """Whose key a hosted upstream gets: `header` the client's own (Authorization or
    x-api-key, re-sent in the upstream's style), `env` ours from `api_key_env`, `both` the
    client's when it sent one, else ours."""

    style: Literal["header", "env", "both"] = "header"
    api_key_env: str | None = None

    @model_validator(mode="after")
    def _names_our_key(self) -> UpstreamAuth:
        if self.style != "header" and not self.api_key_env:
            raise ValueError(f"auth style '{self.style}' needs api_key_env (where our key is)")
        return self


class RetrySpec(_Frozen):
    """Retries of a hosted upstream before the first byte reached the client: on 429
    (waiting its Retry-After, up to retry_after_cap_s), 502/503/504 and connection errors;
    exponential backoff from base_delay_s with full jitter, capped at max_delay_s."""

    max_attempts: int = Field(default=3, ge=1, le=10)
    base_delay_s: float = Field(default=0.5, ge=0)
    max_delay_s: float = Field(default=8.0, ge=0)
    retry_after_cap_s: float = Field(default=30.0, ge=0)


def with_default_retry(spec: ModelSpec, retry: RetrySpec | None) -> ModelSpec:
    """`spec` with `retry` as its hosted engine's policy, unless its entry set one itself."""
    engine = spec.engine
    if retry is None or not engine.is_upstream or "retry" in engine.model_fields_set:
        return spec
    return spec.model_copy(update={"engine": engine.model_copy(update={"retry": retry})})


class EngineSpec(_Frozen):
    kind: EngineKind
    served_name: str
    urls: tuple[HttpUrl, ...] = Field(min_length=1)
    # Where each replica's Prometheus metrics are, in the order of `urls`, when not at its
    # URL's /metrics: MAX Serve keeps them on a port of their own (8001 in its image).
    metrics_urls: tuple[HttpUrl, ...] = ()
    # Hosted upstreams (kind openai | anthropic) only:
    auth: UpstreamAuth = UpstreamAuth()
    retry: RetrySpec = RetrySpec()
    headers: dict[str, str] = Field(default_factory=dict)  # sent with every request
    # How a translated request names its token budget for an OpenAI-style upstream: OpenAI's
    # reasoning models take only max_completion_tokens; many compatible servers max_tokens.
    max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    # Requests each replica serves at once, for the admission queue (api_server/admission):
    # unset, llama.cpp's own total_slots (learnt from the engine) or the settings'
    # admission_replica_slots (vLLM, MAX: they do not say).
    slots_per_replica: PositiveInt | None = None
    # vLLM started with `--scheduling-policy priority`: each request carries its priority
    # class as vLLM's `priority` (high first). A vLLM without it refuses the field.
    priority_scheduling: bool = False

    @field_validator("urls", mode="before")
    @classmethod
    def _comma_separated_replicas(cls, value: object) -> object:
        # One environment variable may name every replica, comma-separated
        # (LLAMACPP_URLS=http://a:8080,http://b:8080), expanded into one entry of the list.
        if isinstance(value, list | tuple):
            return [url.strip() for item in value for url in str(item).split(",") if url.strip()]
        return value

    @model_validator(mode="after")
    def _one_metrics_url_per_replica(self) -> EngineSpec:
        if self.metrics_urls and len(self.metrics_urls) != len(self.urls):
            raise ValueError(
                f"engine.metrics_urls has {len(self.metrics_urls)} URLs for "
                f"{len(self.urls)} replicas: give one per URL, or none"
            )
        return self

    @model_validator(mode="after")
    def _priority_scheduling_is_vllms(self) -> EngineSpec:
        if self.priority_scheduling and self.kind != "vllm":
            raise ValueError("engine.priority_scheduling is vLLM's (--scheduling-policy priority)")
        return self

    @property
    def is_upstream(self) -> bool:
        return self.kind not in LOCAL_ENGINE_KINDS

    def replica_urls(self) -> list[tuple[str, str]]:
        """Each replica's base URL with its metrics URL."""
        bases = [str(url).rstrip("/") for url in self.urls]
        metrics = [str(url) for url in self.metrics_urls] or [f"{base}/metrics" for base in bases]
        return list(zip(bases, metrics, strict=True))


class MaxTokensSpec(_Frozen):
    default: PositiveInt
    limit: PositiveInt

    @model_validator(mode="after")
    def _default_within_limit(self) -> MaxTokensSpec:
        if self.default > self.limit:
            raise ValueError(f"max_tokens.default {self.default} exceeds limit {self.limit}")
        return self


class ToolCallSettings(_Frozen):
    max_parallel_calls: int = Field(default=0, ge=0)  # 0 = unlimited
    # Calls beyond max_parallel_calls: dropped, or the whole response fails (502).
    on_extra_calls: Literal["truncate", "error"] = "truncate"
    strict_arguments: bool = False


class ModelSpec(_Frozen):
    name: str
    enabled: bool = True
    aliases: tuple[str, ...] = ()
    prompt_family: str | None = None  # required for local engines; upstreams get no prompt
    default_system_prompt: str | None = None
    chat_template_file: Path | None = None
    bos_token: str = ""
    eos_token: str = ""
    tool_call_syntax: str = "none"
    engine: EngineSpec
    context_length: PositiveInt
    max_tokens: MaxTokensSpec
    tools: ToolCallSettings = ToolCallSettings()
    timeout_s: float = Field(default=120.0, gt=0)
    # The whole request's timeout for this model, over the settings' request_timeout_s
    # (null: none); unset: the settings'. A CPU engine writing 2048 tokens takes minutes.
    request_timeout_s: PositiveFloat | None = None
    cache_ttl_s: int | None = Field(default=None, ge=0)  # None: settings; 0: never cached
    semantic_cache: bool = False  # opt this model's requests into the semantic cache
    # Images in messages: hosted upstreams take them unless this says false; local prompt
    # formats carry text only, so there an image is a 400.
    vision: bool | None = None
    # Requests served at once per gateway process; beyond, they wait in the admission queue
    # (or, with the queue off, 429 model_overloaded). None: no cap.
    max_concurrency: PositiveInt | None = None
    owned_by: str = "inferstack"

    def completion_budget(self, requested: int | None, param: str = "max_tokens") -> int:
        """The max_tokens a request gets: its own, or the model's default; over the model's
        limit is the client's error (400, naming the request's field `param`), whichever
        front door it came through."""
        max_tokens = requested or self.max_tokens.default
        if max_tokens > self.max_tokens.limit:
            raise InvalidRequestError(
                f"{param}={max_tokens} exceeds the limit of {self.max_tokens.limit} for "
                f"model {self.name}",
                param=param,
            )
        return max_tokens

    def whole_request_timeout(self, default: float | None) -> float | None:
        """This model's request_timeout_s where its entry sets one (null included), else
        `default` (the settings')."""
        return self.request_timeout_s if "request_timeout_s" in self.model_fields_set else default

    @property
    def accepts_images(self) -> bool:
        return self.engine.is_upstream if self.vision is None else self.vision

    @model_validator(mode="after")
    def _known_formats(self) -> ModelSpec:
        if self.engine.is_upstream:
            return self
        if self.vision:
            raise ValueError(
                f"{self.name}: vision is for hosted upstreams; a local prompt carries text only"
            )
        if self.prompt_family is None or self.prompt_family not in PROMPT_FAMILIES:
            raise ValueError(
                f"{self.name}: prompt_family {self.prompt_family!r} is not one of "
                f"{', '.join(PROMPT_FAMILIES)}"
            )
        if self.tool_call_syntax not in TOOL_CALL_SYNTAXES:
            raise ValueError(
                f"{self.name}: tool_call_syntax {self.tool_call_syntax!r} is not one of "
                f"{', '.join(TOOL_CALL_SYNTAXES)}"
            )
        if self.prompt_family == "jinja" and self.chat_template_file is None:
            raise ValueError(f"{self.name}: prompt_family 'jinja' needs chat_template_file")
        return self


class RegistryFile(_Frozen):
    default_model: str | None = None
    models: tuple[ModelSpec, ...] = Field(min_length=1)


_MAX_CAUGHT_NAMES = 256
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(text: str, environ: Mapping[str, str]) -> str:
    """Replace `${VAR}` and `${VAR:-default}`; an unset variable without default is an error."""

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = environ.get(name) or default
        if value is None:
            raise ValueError(f"environment variable {name} is not set and has no default")
        return value

    return _ENV_REFERENCE.sub(replace, text)


class ModelRegistry:
    """Resolves public names and aliases (case-insensitively) to model specs. A catch-all
    entry (named `*`) takes any other name, as a spec of that name served under it."""

    def __init__(
        self,
        models: tuple[ModelSpec, ...],
        default_model: str | None = None,
        disabled: tuple[ModelSpec, ...] = (),
    ) -> None:
        self.models = models
        self._disabled = {
            key.casefold(): spec.name for spec in disabled for key in (spec.name, *spec.aliases)
        }
        self._by_key: dict[str, ModelSpec] = {}
        self._caught_specs: dict[str, ModelSpec] = {}
        # Hosted upstream kinds among the models: the front doors relay only when one is.
        self.upstream_kinds = frozenset(s.engine.kind for s in models if s.engine.is_upstream)
        self.catch_all = next((s for s in models if s.name == CATCH_ALL_MODEL), None)
        for spec in models:
            for key in (spec.name, *spec.aliases):
                folded = key.casefold()
                if folded in self._by_key and self._by_key[folded] is not spec:
                    raise ValueError(f"model name or alias {key!r} is used twice")
                self._by_key[folded] = spec
        self.default_model = default_model or models[0].name
        if self.default_model != CATCH_ALL_MODEL:  # proxy mode has no default: name one
            self.resolve(self.default_model)

    @classmethod
    def from_file(
        cls,
        path: Path,
        environ: Mapping[str, str] | None = None,
        default_retry: RetrySpec | None = None,
    ) -> ModelRegistry:
        """Load the YAML registry, expanding `${VAR:-default}` from the environment (compose
        points engine URLs at its services this way) and keeping only enabled models; a
        hosted model whose entry names no `retry` gets `default_retry` when one is given."""
        text = expand_env(
            path.read_text(encoding="utf-8"), os.environ if environ is None else environ
        )
        parsed = RegistryFile.model_validate(yaml.safe_load(text))
        enabled = tuple(
            with_default_retry(spec, default_retry) for spec in parsed.models if spec.enabled
        )
        if not enabled:
            raise ValueError(f"{path}: no model is enabled")
        disabled = tuple(spec for spec in parsed.models if not spec.enabled)
        default = parsed.default_model
        if default is not None and default.casefold() in {
            k.casefold() for s in disabled for k in (s.name, *s.aliases)
        }:
            default = None
        return cls(enabled, default, disabled)

    def resolve(self, name: str) -> ModelSpec:
        if name == CATCH_ALL_MODEL and self.catch_all is not None:
            raise ModelNotFoundError(
                "Name a model: this gateway forwards each model name to its upstream as is",
                param="model",
            )
        spec = self._by_key.get(name.casefold())
        caught = spec is None and self.catch_all is not None and name
        if caught and name.casefold() not in self._disabled:
            assert self.catch_all is not None
            return self._caught(name, self.catch_all)
        if spec is None:
            available = ", ".join(m.name for m in self.models)
            disabled = self._disabled.get(name.casefold())
            reason = (
                f"The model '{disabled}' is registered but not enabled on this gateway."
                if disabled
                else f"The model '{name}' does not exist."
            )
            raise ModelNotFoundError(f"{reason} Available models: {available}", param="model")
        return spec

    def is_explicit(self, name: str) -> bool:
        """Whether an entry of its own claims `name` (its name or an alias, any case): a
        name only the catch-all entry takes is not."""
        spec = self._by_key.get(name.casefold())
        return spec is not None and spec is not self.catch_all

    @property
    def named_default(self) -> str | None:
        """The default model, unless there is none but the catch-all (proxy mode)."""
        return None if self.default_model == CATCH_ALL_MODEL else self.default_model

    def _caught(self, name: str, catch_all: ModelSpec) -> ModelSpec:
        # The first names are kept (one spec object each); any later one is built per request
        # and accounted under the catch-all's name: clients choose these names, and each
        # accounted name is a set of metric series that is never dropped.
        spec = self._caught_specs.get(name)
        if spec is None:
            engine = catch_all.engine.model_copy(update={"served_name": name})
            spec = catch_all.model_copy(update={"name": name, "engine": engine})
            if len(self._caught_specs) < _MAX_CAUGHT_NAMES:
                self._caught_specs[name] = spec
        return spec

    def accounting_name(self, spec: ModelSpec) -> str:
        """The name metrics and the concurrency valve count `spec` under: its own, but the
        catch-all's for the names a catch-all entry took beyond its first few hundred."""
        if self.catch_all is None or self._caught_specs.get(spec.name) is spec:
            return spec.name
        return spec.name if self._by_key.get(spec.name.casefold()) is spec else CATCH_ALL_MODEL


def sdk_base_url(base_url: str, kind: str) -> str:
    """`base_url` as the dialect's own SDK spells it, whichever way it was given: OpenAI's
    with its version (`https://api.openai.com` → `https://api.openai.com/v1`), Anthropic's
    without (`https://api.anthropic.com/v1` → `https://api.anthropic.com`). A URL with some
    other path (`/api/v1`, `/openai/v1`, `/v1beta/openai`) is the user's and kept as given."""
    scheme, sep, rest = base_url.rstrip("/").partition("://")
    host, slash, path = rest.partition("/")
    if kind == "openai" and not path:
        path, slash = "v1", "/"
    elif kind == "anthropic" and (path == "v1" or path.endswith("/v1")):
        path = path[: -len("v1")].rstrip("/")
        slash = slash if path else ""
    return f"{scheme}{sep}{host}{slash}{path}"


def prompt_formatter(spec: ModelSpec) -> tuple[PromptFormatter, str]:
    """The prompt formatter of a local model's entry, and the BOS text its prompts start
    with: the registry's where it says, else its chat template file's. The gateway builds
    its runtime with it; the load tester, to send an engine exactly what the gateway would."""
    bos_token, eos_token, chat_template = spec.bos_token, spec.eos_token, None
    if spec.chat_template_file is not None:
        source = load_chat_template(spec.chat_template_file)
        chat_template = source.template
        # The registry wins where it says something; the model file fills in the rest.
        bos_token = bos_token or source.bos_token
        eos_token = eos_token or source.eos_token
    if spec.prompt_family is None:
        raise ValueError(f"{spec.name}: a hosted upstream's model has no prompt format")
    formatter = build_formatter(
        spec.prompt_family,
        default_system=spec.default_system_prompt,
        chat_template=chat_template,
        bos_token=bos_token,
        eos_token=eos_token,
    )
    return formatter, bos_token
