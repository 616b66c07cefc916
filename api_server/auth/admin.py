"""The admin caller: the one holding `admin_key`, whoever else auth_mode lets in."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from api_server.auth.authenticator import credential_from
from api_server.config import Settings


def is_admin_credential(settings: Settings, headers: Mapping[str, str]) -> bool:
    """The request carries the admin key (compared in constant time)."""
    admin_key = settings.admin_key
    given = credential_from(headers)
    if admin_key is None or given is None:
        return False
    return hmac.compare_digest(given.encode(), admin_key.get_secret_value().encode())
