"""The admin caller: the one holding `admin_key`, whatever auth_mode lets in otherwise."""

from __future__ import annotations

import hmac

from pydantic import SecretStr


def is_admin_key(admin_key: SecretStr | None, credential: str | None) -> bool:
    """`credential` is the admin key (compared in constant time); never with no key set."""
    if admin_key is None or credential is None:
        return False
    return hmac.compare_digest(credential.encode(), admin_key.get_secret_value().encode())
