"""Secrets in the settings: placeholder values refused at startup, and `static_api_keys`
entries, which hold a key's hash, never the key."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator, model_validator

from api_server.priority_classes import PriorityClass

PLACEHOLDER_SECRETS = {"change-me", "changeme", "changethis", "secret", "password", "admin"}
# .env.example's placeholders: change-me-postgres, change-me-minio, ...
PLACEHOLDER_PREFIXES = ("change-me", "changeme")
STATIC_KEY_HASH_PREFIX = "sha256:"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def is_placeholder(secret: str) -> bool:
    lowered = secret.strip().lower()
    return lowered in PLACEHOLDER_SECRETS or lowered.startswith(PLACEHOLDER_PREFIXES)


class StaticApiKey(BaseModel):
    """One `static_api_keys` entry: `sha256:<64 hex>`, or `{hash, name, models, rpm, tpm,
    priority}`. `models` None: every model; rpm/tpm None: no limit; priority None: normal.
    See api_server/auth/static_keys.py."""

    # A key pasted here by mistake must not reach the startup log in the refusal.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    hash: str
    name: str | None = Field(default=None, min_length=1)
    models: tuple[str, ...] | None = None
    rpm: PositiveInt | None = None
    tpm: PositiveInt | None = None
    priority: PriorityClass | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_bare_hash(cls, value: object) -> object:
        return {"hash": value} if isinstance(value, str) else value

    @field_validator("hash")
    @classmethod
    def _is_a_sha256_entry(cls, value: str) -> str:
        digest = value.removeprefix(STATIC_KEY_HASH_PREFIX)
        if not value.startswith(STATIC_KEY_HASH_PREFIX) or not _HEX_DIGEST.fullmatch(digest):
            raise ValueError(
                "a static API key is `sha256:<64 lowercase hex>` (`inferstack keys hash`),"
                " never the key itself"
            )
        return value

    @property
    def digest(self) -> str:
        return self.hash.removeprefix(STATIC_KEY_HASH_PREFIX)
