"""One settings object for the gateway.

Precedence: init arguments > environment (`INFERSTACK_*`) > `.env` > `configs/gateway.yaml`
(or the file named by `INFERSTACK_CONFIG_FILE`) > defaults. Bad values fail at startup.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = "configs/gateway.yaml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INFERSTACK_",
        env_file=".env",
        extra="ignore",
        frozen=True,
    )

    host: str = "0.0.0.0"
    port: int = Field(default=8000, ge=1, le=65535)
    models_file: Path = Path("configs/models.yaml")
    max_body_bytes: PositiveInt = 4 * 1024 * 1024
    engine_connect_timeout_s: PositiveFloat = 3.0
    engine_max_connections: PositiveInt = 256
    # Below llama-server's own 5 s keep-alive, so we rarely reuse a connection it closed.
    engine_keepalive_s: PositiveFloat = 4.0
    health_probe_timeout_s: PositiveFloat = 2.0
    health_interval_s: PositiveFloat = 5.0
    default_temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    # Anthropic clients' model names (glob, case-insensitive, first match) -> a local model;
    # "default" is the registry's default model. See api_server/anthropic/model_names.py.
    anthropic_model_map: dict[str, str] = Field(default_factory=lambda: {"claude-*": "default"})

    # Backing services; unset = not used. Native mode points them at .state/, compose at
    # its services.
    redis_url: str | None = None
    redis_timeout_s: PositiveFloat = 0.05
    database_url: SecretStr | None = None
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
    # /v1/logs and /v1/usage over the request logs (admin-only once auth exists).
    logs_api_enabled: bool = False
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = os.environ.get("INFERSTACK_CONFIG_FILE", DEFAULT_CONFIG_FILE)
        yaml_settings = YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file)
        return (init_settings, env_settings, dotenv_settings, yaml_settings)
