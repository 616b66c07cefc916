"""Tool-call ids that Mistral tokenizers accept.

mistral-common rejects ids that are not exactly nine ASCII letters or digits, while OpenAI
clients send ids like `call_abc123...`. The mapping is a pure function of the client id, so
a call and its result (sent in separate requests) always get the same Mistral id.
"""

from __future__ import annotations

import hashlib
import re

_VALID_ID = re.compile(r"[a-zA-Z0-9]{9}")
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LENGTH = 9


def to_mistral_call_id(client_id: str) -> str:
    """Pass valid ids through; map any other id to nine base62 digits of its SHA-256."""
    if _VALID_ID.fullmatch(client_id):
        return client_id
    number = int.from_bytes(hashlib.sha256(client_id.encode()).digest()[:8], "big")
    digits = []
    for _ in range(_LENGTH):
        number, digit = divmod(number, len(_ALPHABET))
        digits.append(_ALPHABET[digit])
    return "".join(digits)
