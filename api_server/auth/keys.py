"""API keys: their format, their hash and the stored record.

A key is `isk-` + 32 URL-safe characters (192 random bits). Only its SHA-256 (hex) and an
8-character display prefix are stored: a salted slow hash buys nothing for random keys of
this length, and a fast one keeps the check cheap on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from api_server.priority_classes import PriorityClass

KEY_PREFIX = "isk-"
KEY_RANDOM_CHARS = 32
DISPLAY_PREFIX_CHARS = 8


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_RANDOM_CHARS * 3 // 4)


def looks_like_key(value: str) -> bool:
    return value.startswith(KEY_PREFIX) and len(value) == len(KEY_PREFIX) + KEY_RANDOM_CHARS


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """What lists show: enough to tell keys apart, far too little to use one."""
    return key[:DISPLAY_PREFIX_CHARS]


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    prefix: str
    models: tuple[str, ...] | None  # None: every model
    rpm: int | None
    tpm: int | None
    created_at: datetime
    revoked_at: datetime | None = None
    priority: PriorityClass | None = None  # its class in the admission queues; None: normal

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "models": list(self.models) if self.models is not None else None,
            "rpm": self.rpm,
            "tpm": self.tpm,
            "priority": self.priority,
            "created_at": self.created_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
        }
