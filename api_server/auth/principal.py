"""Who is calling: the identity a request was authenticated as, and what it may use."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from api_server.errors import PermissionDeniedError
from api_server.priority_classes import PriorityClass
from api_server.registry import ModelSpec


@dataclass(frozen=True)
class Principal:
    """An API key (`key_id` set), a JWT subject (`claims` set), the admin (`admin`: the
    holder of `admin_key`), or anonymous (auth off or an open path). `models` None: every
    model."""

    name: str
    key_id: str | None = None
    models: frozenset[str] | None = None
    rpm: int | None = None
    tpm: int | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    admin: bool = False
    # The key's (or token's) class in the admission queues: its requests' default and the
    # highest they may ask for; None: "normal" (api_server/admission/priority.py).
    priority: PriorityClass | None = None

    @cached_property
    def tenant(self) -> str | None:
        """Whose data a request's cache entries, sessions, limits and log rows are: the key,
        or the token's issuer and subject together (two identity providers may both have a
        subject "alice"); "admin" for the admin; None for anonymous callers, who share
        everything."""
        if self.admin:
            return ADMIN_TENANT
        if self.key_id is not None:
            return f"key:{self.key_id}"
        if self.claims:
            issuer = str(self.claims.get("iss", ""))
            digest = hashlib.sha256(f"{issuer}\n{self.name}".encode()).hexdigest()[:32]
            return f"jwt:{digest}"
        return None

    def may_use(self, spec: ModelSpec) -> bool:
        """Allowlists name models as clients do: by name or alias, in any letter case."""
        return self.may_use_named(spec.name, *spec.aliases)

    def may_use_named(self, *names: str) -> bool:
        """`may_use` for a model outside the registry (the embedding model), by its names."""
        if self.models is None:
            return True
        return any(name.casefold() in self.models for name in names)


ADMIN_TENANT = "admin"  # never a key's ("key:…") nor a token's ("jwt:…")
ANONYMOUS = Principal(name="anonymous")
ADMIN = Principal(name="admin", admin=True)


def allowlist(models: Any) -> frozenset[str] | None:
    """A key's or a token's `models` as a case-folded set; None (every model) when absent."""
    if models is None:
        return None
    if isinstance(models, str):
        models = models.split(",")
    return frozenset(str(model).strip().casefold() for model in models)


def authorize_model(principal: Principal, spec: ModelSpec) -> None:
    """403 unless the caller may use this (resolved) model."""
    if not principal.may_use(spec):
        raise PermissionDeniedError(f"This key may not use the model {spec.name!r}")
