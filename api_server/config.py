"""One settings object for the gateway.

Precedence: init arguments > environment (`INFERSTACK_*`) > `.env` > `configs/gateway.local.yaml`
> `configs/gateway.yaml` (or the file named by `INFERSTACK_CONFIG_FILE` and its `.local.yaml`
sibling) > defaults. A nested setting's variable joins the names with `__`
(`INFERSTACK_UPSTREAM__BASE_URL`). Bad values fail at startup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import (
    AliasChoices,
    Field,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from api_server.config_secrets import StaticApiKey, is_placeholder
from api_server.config_sources import gateway_sources
from api_server.interceptors.config import InterceptorSpec
from api_server.proxy_mode import UpstreamSettings
from api_server.registry import RetrySpec
from api_server.tools.names import tool_name_map_problems

T = TypeVar("T", str, SecretStr)
# The request headers our clients send: ours, the OpenAI and Anthropic SDKs' (their JS SDKs
# in a browser add the x-stainless-* ones; a preflight refusing one fails every call).
CLIENT_HEADERS = (
    "authorization",
    "content-type",
    "x-api-key",
    "anthropic-version",
    "anthropic-beta",
    "anthropic-dangerous-direct-browser-access",
    "x-request-id",
    "x-session-id",
    "x-agent-id",
    "x-trace-id",
    "x-priority",
    "x-stainless-arch",
    "x-stainless-lang",
    "x-stainless-os",
    "x-stainless-package-version",
    "x-stainless-retry-count",
    "x-stainless-runtime",
    "x-stainless-runtime-version",
    "x-stainless-timeout",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INFERSTACK_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        # An empty variable is an unset one: compose passes `${INFERSTACK_ADMIN_KEY:-}` as "".
        env_ignore_empty=True,
        # INFERSTACK_UPSTREAM__BASE_URL sets upstream.base_url; no field name holds "__".
        env_nested_delimiter="__",
        # A refusal names the field and the reason, never the value: it may be a secret (an
        # admin key too short, a key pasted into static_api_keys) and lands in the logs.
        hide_input_in_errors=True,
    )

    # Loopback unless configured: with auth_mode none a gateway on every interface is open
    # to the network. Compose sets 0.0.0.0 inside its container (see docker-compose.yaml).
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Gateway processes on the one port (api_server/workers.py): a supervisor and this many
    # workers, each with its own event loop. Rate limits and caches are shared through
    # Redis, metrics through files, log files and recordings by locked appends; local-mode
    # Qdrant (qdrant_path) is one process's alone, so several workers need qdrant_url.
    workers: int = Field(default=1, ge=1, le=256)
    models_file: Path = Path("configs/models.yaml")
    max_body_bytes: PositiveInt = 4 * 1024 * 1024
    engine_connect_timeout_s: PositiveFloat = 3.0
    engine_max_connections: PositiveInt = 256
    # Below llama-server's own 5 s keep-alive, so we rarely reuse a connection it closed.
    engine_keepalive_s: PositiveFloat = 4.0
    health_probe_timeout_s: PositiveFloat = 2.0
    health_interval_s: PositiveFloat = 5.0
    # Which replica of a model serves a request (api_server/engines/routing.py): `prefix`
    # sends it where its session or the longest prefix of its prompt was served lately (the
    # least busy of those), unless it carries routing_balance_slack more than the least busy;
    # `least_busy` ignores prompts.
    routing_policy: Literal["prefix", "least_busy"] = "prefix"
    routing_balance_slack: float = Field(default=2.0, ge=0)
    routing_block_bytes: int = Field(default=512, ge=16, le=65536)
    routing_index_entries: int = Field(default=50_000, ge=1)
    # Share what each process learnt (prefixes, sessions, breakers opened) through Redis:
    # None means when this gateway runs several workers. Set true for gateway processes
    # started apart (several pods) that share one Redis.
    routing_shared: bool | None = None
    routing_shared_ttl_s: int = Field(default=600, ge=1)
    # Each replica's circuit breaker: open after this many failures in a row, for
    # breaker_open_s; then one probe at a time, closed after breaker_successes_to_close.
    breaker_failures_to_open: int = Field(default=3, ge=1)
    breaker_open_s: PositiveFloat = 5.0
    breaker_successes_to_close: int = Field(default=2, ge=1)
    # /health and /health/ready reuse one PostgreSQL check for this long: a burst of health
    # requests costs the database one query.
    health_database_cache_s: PositiveFloat = 2.0
    default_temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    # POST /v1/title writes conversation titles with this (small, fast) model; unset: the
    # model the request names, else the default model.
    title_model: str | None = None
    # Titles longer than this are cut at a word (a sidebar fits about 60 characters).
    title_max_chars: int = Field(default=60, ge=8, le=500)
    # Anthropic clients' model names (glob, case-insensitive, first match) -> a model;
    # "default" is the registry's default model (proxy mode: the name unchanged). Taken whole
    # from the highest source that sets it. See api_server/anthropic/model_names.py.
    anthropic_model_map: dict[str, str] = Field(default_factory=lambda: {"claude-*": "default"})
    # Anthropic clients' tool names -> the names the model (or upstream) sees, and back in
    # tool calls; wins over the automatic safe-name rewriting. Two client names sharing one
    # upstream name are refused. See api_server/anthropic/tool_names.py.
    tool_name_map: dict[str, str] = Field(default_factory=dict)

    # Backing services; unset = not used. Native mode points them at .state/, compose at
    # its services.
    redis_url: str | None = None
    redis_timeout_s: PositiveFloat = 0.05
    # The exact response cache in Redis (api_server/cache): deterministic requests by default,
    # or any request that opts in; a model's cache_ttl_s in the registry overrides the TTL.
    # A streamed hit keeps the original's pacing ("original"), compressed to last at most
    # cache_replay_max_ms, or comes at once ("fast"). Stores beyond the pending cap are dropped.
    cache_enabled: bool = True
    cache_ttl_s: PositiveInt = 3600
    cache_replay_timing: Literal["original", "fast"] = "original"
    cache_replay_max_ms: PositiveInt = 2000
    cache_max_pending_stores: PositiveInt = 64
    # Rate limits (api_server/ratelimit), in Redis: an API key's own rpm/tpm; callers without
    # a key (auth_mode none, JWTs without rpm/tpm claims) get these. None: unlimited.
    default_rpm: PositiveInt | None = None
    default_tpm: PositiveInt | None = None
    # Longer than redis_timeout_s: a burst queues on the event loop, and a limiter that gives
    # up too soon fails open and lets the burst through. Past it the request is served.
    ratelimit_timeout_s: PositiveFloat = 0.5
    # The admission queue (api_server/admission), per model in each gateway process: while
    # every replica of a model is saturated (gateway requests >= its slots, or the engine
    # queueing or answering 429), requests wait here, highest X-Priority class first, then
    # the tenant served the fewest tokens (a virtual token counter, which starts a tenant
    # level with those being served; one quiet for admission_fairness_window_s is forgotten). Past
    # admission_queue_max_depth waiting requests a newcomer gets 429 queue_full; one that
    # waited admission_queue_max_wait_s (or its request timeout) 503 queue_timeout, both with
    # Retry-After. None: a request waits as long as its own timeout allows, as it would have
    # in the engine's queue (a shorter cap turns a burst on a slow engine into 503s). A
    # model without any saturation signal never queues. Off: a model's max_concurrency
    # refuses with 429 instead, and nothing else holds requests back.
    admission_queue_enabled: bool = True
    admission_queue_max_depth: int = Field(default=256, ge=0)
    admission_queue_max_wait_s: PositiveFloat | None = None
    admission_fairness_window_s: PositiveFloat = 60.0
    # Slots of each replica that does not say (vLLM, MAX; llama.cpp's total_slots are
    # learnt), unless the model's engine.slots_per_replica sets them; None: only the
    # engine's own queue and 429s tell that it is saturated.
    admission_replica_slots: PositiveInt | None = None
    # How often a waiting request looks at the engines again by itself (besides every request
    # end and every health probe): capacity can appear without either.
    admission_recheck_s: PositiveFloat = 0.25
    # The last free slots of a model that a tenant already in service may not take while a
    # tenant served less is active: a light caller beside a heavy one finds a slot at once.
    admission_reserved_slots: int = Field(default=1, ge=0)
    # The semantic cache (api_server/cache/semantic.py, Qdrant): opt-in per model
    # (`semantic_cache` in the registry) or per request; served only at or above the
    # threshold's cosine similarity. Needs Qdrant and an embeddings model.
    semantic_cache_threshold: float = Field(default=0.95, gt=0.0, le=1.0)
    semantic_cache_timeout_s: PositiveFloat = 0.5  # embed + search; a slower lookup misses
    # POST /v1/embeddings and the semantic cache's vectors: a model run in-process (the
    # optional `embeddings` extra); unset = no embeddings. Loaded on first use unless preload.
    embeddings_model: str | None = "all-MiniLM-L6-v2"
    embeddings_preload: bool = False
    # An OpenAI-compatible embedding server (compose's `embeddings` service) instead of the
    # in-process model; its model must give 384-dimensional vectors like all-MiniLM-L6-v2.
    embeddings_url: str | None = None
    # Embedding requests waiting for or in the in-process model (the endpoint's and the
    # semantic cache's together); past it 429 model_overloaded with Retry-After, as a model's
    # max_concurrency: a queue would only hide the overload. Work a client left is dropped.
    embeddings_max_pending: PositiveInt = 32
    database_url: SecretStr | None = None
    # The PostgreSQL pool: a server that accepts but never answers must not hold a caller
    # forever. connect: opening a connection; command: any one query (the logs API and the
    # writer have their own, tighter ones).
    database_connect_timeout_s: PositiveFloat = 3.0
    database_command_timeout_s: PositiveFloat = 30.0
    # The request-log writer (on when database_url is set): rows are committed every
    # batch_size rows or flush_interval_ms; past queue_size queued rows, or while PostgreSQL
    # is down, they wait in the spool folder, and are dropped (counted, logged) only once
    # the spool holds spool_max_bytes. retention_days unset: rows are kept forever.
    request_log_batch_size: PositiveInt = 1000
    request_log_flush_interval_ms: PositiveInt = 200
    request_log_flush_timeout_s: PositiveFloat = 5.0
    request_log_queue_size: PositiveInt = 50_000
    request_log_spool_dir: Path = Path(".state/spool")
    request_log_spool_max_bytes: PositiveInt = 1024 * 1024 * 1024
    request_log_retention_days: PositiveInt | None = None
    request_log_retention_batch: PositiveInt = 5000
    request_log_shutdown_timeout_s: PositiveFloat = 10.0
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None  # Qdrant's service api_key (compose sets one)
    qdrant_path: Path | None = None
    object_store_path: Path | None = None
    # S3 (MinIO in compose, or any S3) for the payload archive; used instead of
    # object_store_path when s3_endpoint is set.
    s3_endpoint: str | None = None
    s3_bucket: str = "inferstack"
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    s3_region: str = "us-east-1"
    # Archive each request's full request and response in the object store. Off by default:
    # it stores prompts and completions.
    archive_enabled: bool = False
    archive_queue_size: PositiveInt = 1000  # payloads waiting to be written; beyond, dropped
    # /v1/logs and /v1/usage over the request logs: the admin key reads every row, any
    # other key or JWT subject only its own. With auth_mode none they answer 403 unless
    # logs_api_allow_anonymous (then anyone who reaches the gateway reads every row).
    logs_api_enabled: bool = False
    logs_api_allow_anonymous: bool = False
    # The Files and Batch APIs (/v1/files, /v1/batches; api_server/files_api, batches): file
    # contents in the object store, their rows and the batches' progress in PostgreSQL; both
    # are needed (else a 503 naming what is missing). An upload is streamed to a temporary
    # file and refused past batch_max_file_bytes (413); a batch holds at most
    # batch_max_lines requests, each at most max_body_bytes.
    batch_max_file_bytes: PositiveInt = 100 * 1024 * 1024
    batch_max_lines: PositiveInt = 50_000
    # The batch runner in each gateway process (api_server/batches/runner.py) runs batches'
    # lines through the chat path at the lowest priority: per process at most
    # batch_max_concurrency_per_model lines of one model at once, and a line waits while
    # more than batch_interactive_threshold interactive requests of its model are in flight
    # here (0: batches run only on an idle model). A runner holds a batch for batch_lease_s,
    # renewed every batch_poll_interval_s (also how often it looks for work and notices a
    # cancel): a batch a dead process held is taken over once its lease ends.
    batch_runner_enabled: bool = True
    batch_max_concurrency_per_model: PositiveInt = 2
    batch_interactive_threshold: int = Field(default=2, ge=0)
    batch_max_active: PositiveInt = 4  # batches one process works on at once
    batch_poll_interval_s: PositiveFloat = 1.0
    batch_lease_s: PositiveFloat = 30.0
    # An admin-key caller's `X-Inferstack-Debug: translation` on /v1/chat/completions gets
    # the exact prompt sent to a local engine and its raw text back (`inferstack_debug`).
    # Off by default: the prompt shows the system prompt and template a client never sees.
    debug_translation: bool = False
    # Watchers of every HTTP exchange, off the request path (api_server/interceptors):
    # printer (console), message_logger (rotated JSONL), event_recorder (for `replay`).
    interceptors: list[InterceptorSpec] = Field(default_factory=list)
    # For those who want nothing of a request's content kept: forces off the exact and
    # semantic caches (cache_enabled), the payload archive and every interceptor, whatever
    # they are set to; log rows keep only counts, timings and ids. Startup logs what it did.
    privacy_mode: bool = False
    _privacy_turned_off: tuple[str, ...] = PrivateAttr(default=())
    # Proxy mode (`inferstack run`): every model name goes to this one hosted upstream, and
    # models_file is not read.
    upstream: UpstreamSettings | None = None
    # The retry policy of every hosted upstream whose own entry (a model's engine.retry, the
    # proxy's upstream.retry) names none; unset: RetrySpec's defaults. As a web backend
    # spelled it: INFERSTACK_RETRY__MAX_ATTEMPTS=5.
    retry: RetrySpec | None = None
    # The whole request, queueing and every token included: past it a JSON answer is a 504
    # and a stream ends with the front door's error event (RequestTimeoutError). 30 s as
    # configs/max-serve-config.yaml's request_timeout_s (tests/unit/test_compose.py keeps
    # them equal); None turns it off. A model's timeout_s is another thing: the longest
    # silence between two pieces of the engine's output.
    request_timeout_s: PositiveFloat | None = 30.0

    # CORS for browser clients on other origins (Starlette's CORSMiddleware, outermost, so
    # 401/413/429 answers carry the headers too and the page can read the error). Empty: off,
    # no CORS header at all. "*" with credentials is refused: browsers reject it anyway.
    cors_allow_origins: list[str] = Field(default_factory=list)
    cors_allow_methods: list[str] = Field(
        default_factory=lambda: ["GET", "POST", "DELETE", "OPTIONS"]
    )
    cors_allow_headers: list[str] = Field(default_factory=lambda: list(CLIENT_HEADERS))
    cors_allow_credentials: bool = False

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "text"] = "json"
    # One line per front-door request (api_server/access_log.py), logger api_server.access.
    access_log: bool = True
    # A WARNING for a request slower than this (queueing and every token); None: none.
    slow_request_warning_s: PositiveFloat | None = 10.0
    # Logs also go to this file (same format), rotated at log_file_max_bytes keeping
    # log_file_backups old files. Plain LOG_FILE is accepted too, as other servers read it.
    log_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("log_file", "INFERSTACK_LOG_FILE", "LOG_FILE")
    )
    log_file_max_bytes: PositiveInt = 10 * 1024 * 1024
    log_file_backups: int = Field(default=5, ge=0)

    # Identity (api_server/auth): "none" lets every caller in; "api_key" checks keys kept
    # (hashed) in static_api_keys and/or PostgreSQL; "jwt" checks bearer tokens signed with
    # jwt_secret (HS256) or a key from the JWKS file or URL (RS256). auth_open_paths never
    # ask (a trailing "/" opens a prefix). admin_key guards /v1/admin/keys (the endpoint is
    # off without it).
    auth_mode: Literal["none", "api_key", "jwt"] = "none"
    auth_open_paths: tuple[str, ...] = (
        "/",
        "/health",
        "/health/live",
        "/health/ready",
        "/metrics",
        "/dashboard",
        "/dashboard/",
    )
    # api_key mode without PostgreSQL: `sha256:<hex>` entries (`inferstack keys hash`) or
    # {hash, name, models, rpm, tpm}; in the environment a JSON list. Checked before the
    # database, when there is one too (api_server/auth/static_keys.py).
    static_api_keys: list[StaticApiKey] = Field(default_factory=list)
    auth_key_cache_ttl_s: PositiveFloat = 30.0  # also how long a revoked key keeps working
    # A key not in the cache waits at most this long for PostgreSQL (pool acquire + query),
    # then gets a 503: a hung database must not stall every new caller.
    auth_key_lookup_timeout_s: PositiveFloat = 2.0
    jwt_secret: SecretStr | None = None
    jwt_jwks_file: Path | None = None
    jwt_jwks_url: str | None = None
    # The JWKS URL's keys are kept jwks_cache_s; a token naming a kid not in them refetches
    # at most once per jwks_refresh_min_s (random kids cannot make us hammer the identity
    # provider); a fetch gives up after jwks_timeout_s (a 503 while no keys were ever had).
    jwt_jwks_cache_s: PositiveFloat = 300.0
    jwt_jwks_refresh_min_s: PositiveFloat = 30.0
    jwt_jwks_timeout_s: PositiveFloat = 3.0
    # Required in jwt mode: the `aud` and `iss` tokens must carry. A deployment whose tokens
    # truly have none opts out explicitly with jwt_verify_audience / jwt_verify_issuer false.
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    jwt_verify_audience: bool = True
    jwt_verify_issuer: bool = True
    # The models a token without a `models` claim may use: none by default (a token must
    # name its models); ["*"] lets such tokens use every model.
    jwt_default_models: tuple[str, ...] = ()
    admin_key: SecretStr | None = None

    @field_validator("tool_name_map")
    @classmethod
    def _one_client_name_per_upstream_name(cls, value: dict[str, str]) -> dict[str, str]:
        if problems := tool_name_map_problems(value):
            raise ValueError("; ".join(problems))
        return value

    @field_validator("admin_key", "jwt_secret")
    @classmethod
    def _no_placeholder_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            secret = value.get_secret_value()
            if is_placeholder(secret) or len(secret) < 16:
                raise ValueError("set a real secret (16+ characters), not a placeholder")
        return value

    @field_validator("database_url", "redis_url", "s3_secret_key", "qdrant_api_key")
    @classmethod
    def _no_placeholder_password(cls, value: T | None) -> T | None:
        """The stack's other secrets: a password left at .env.example's placeholder
        (change-me-...) is refused at startup, not guessed later. No length rule: those
        passwords are the services' own, set where the services are."""
        if value is None:
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        password = urlsplit(text).password if "://" in text else text
        if password is not None and is_placeholder(unquote(password)):
            raise ValueError("a placeholder password (change-me-...): set a real one")
        return value

    @model_validator(mode="after")
    def _privacy_wins(self) -> Settings:
        """privacy_mode overrides the individual settings that would keep content."""
        if not self.privacy_mode:
            return self
        # The settings are frozen once built; this is the one place they are still being built.
        turned_off = []
        if self.cache_enabled:
            object.__setattr__(self, "cache_enabled", False)
            turned_off.append("cache_enabled (exact and semantic caches)")
        if self.archive_enabled:
            object.__setattr__(self, "archive_enabled", False)
            turned_off.append("archive_enabled")
        if self.interceptors:
            turned_off.append(f"interceptors ({', '.join(i.type for i in self.interceptors)})")
            object.__setattr__(self, "interceptors", [])
        assert self.__pydantic_private__ is not None
        self.__pydantic_private__["_privacy_turned_off"] = tuple(turned_off)
        return self

    @property
    def privacy_turned_off(self) -> tuple[str, ...]:
        """The content-keeping settings privacy_mode forced off, for the startup log line."""
        return self._privacy_turned_off

    @model_validator(mode="after")
    def _workers_share_nothing_local(self) -> Settings:
        if self.workers > 1 and self.qdrant_path is not None and self.qdrant_url is None:
            raise ValueError(
                f"workers={self.workers} with qdrant_path: local-mode Qdrant is one process's "
                "alone. Set qdrant_url (a Qdrant server) for the semantic cache, or unset "
                "qdrant_path to go without it (natively: make start WORKERS=N does that)"
            )
        return self

    @model_validator(mode="after")
    def _batch_lease_outlasts_renewals(self) -> Settings:
        if self.batch_lease_s < 3 * self.batch_poll_interval_s:
            raise ValueError(
                "batch_lease_s must be at least 3 x batch_poll_interval_s: a runner renews its "
                "lease every poll interval, and must not lose it to one slow renewal"
            )
        return self

    @model_validator(mode="after")
    def _cors_is_consistent(self) -> Settings:
        if self.cors_allow_credentials and "*" in self.cors_allow_origins:
            raise ValueError(
                "cors_allow_origins '*' with cors_allow_credentials: list the origins instead"
            )
        return self

    @model_validator(mode="after")
    def _auth_is_consistent(self) -> Settings:
        """Refuse at startup what would make every request fail later."""
        if self.auth_mode == "api_key" and self.database_url is None and not self.static_api_keys:
            raise ValueError(
                "auth_mode=api_key needs database_url (keys in PostgreSQL) or static_api_keys"
            )
        hashes = [entry.hash for entry in self.static_api_keys]
        if len(set(hashes)) != len(hashes):
            raise ValueError("static_api_keys lists the same hash twice")
        if self.admin_key is not None and self.database_url is None:
            raise ValueError("admin_key needs database_url (keys live in PostgreSQL)")
        if self.auth_mode == "jwt":
            sources = [self.jwt_secret, self.jwt_jwks_file, self.jwt_jwks_url]
            if sum(source is not None for source in sources) != 1:
                raise ValueError(
                    "auth_mode=jwt needs exactly one of jwt_secret, jwt_jwks_file, jwt_jwks_url"
                )
            if self.jwt_verify_audience and not self.jwt_audience:
                raise ValueError(
                    "auth_mode=jwt needs jwt_audience (the `aud` tokens must carry), or "
                    "jwt_verify_audience=false to accept tokens meant for any audience"
                )
            if self.jwt_verify_issuer and not self.jwt_issuer:
                raise ValueError(
                    "auth_mode=jwt needs jwt_issuer (the `iss` tokens must carry), or "
                    "jwt_verify_issuer=false to accept tokens from any issuer"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return gateway_sources(settings_cls, init_settings, env_settings, dotenv_settings)
