"""Load a model's own chat template, with its BOS/EOS token strings, from the file that
carries it: a GGUF model (`tokenizer.chat_template` metadata), a Hugging Face
`tokenizer_config.json`, or a plain Jinja file.

GGUF metadata is read with a small reader of the header's key/value section: the model's
tensors are never touched, so even a multi-GB file loads in milliseconds.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from api_server.prompts.errors import PromptFormatError

_GGUF_MAGIC = b"GGUF"
# GGUF value types -> struct format of a scalar (8 = string, 9 = array are handled apart).
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}  # fmt: skip
_WANTED = {"tokenizer.chat_template", "tokenizer.ggml.bos_token_id",
           "tokenizer.ggml.eos_token_id", "tokenizer.ggml.tokens"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ChatTemplateSource:
    template: str
    bos_token: str = ""
    eos_token: str = ""


def load_chat_template(path: Path) -> ChatTemplateSource:
    if path.suffix == ".gguf":
        return _from_gguf(path)
    if path.suffix == ".json":
        return _from_tokenizer_config(path)
    return ChatTemplateSource(path.read_text(encoding="utf-8"))


def _from_tokenizer_config(path: Path) -> ChatTemplateSource:
    config = json.loads(path.read_text(encoding="utf-8"))
    template = config.get("chat_template")
    if isinstance(template, list):  # named templates: [{"name": "default", "template": ...}]
        named = {entry["name"]: entry["template"] for entry in template}
        template = named.get("default")
    if not isinstance(template, str):
        raise PromptFormatError(f"{path} has no chat_template")
    return ChatTemplateSource(
        template, _token_text(config.get("bos_token")), _token_text(config.get("eos_token"))
    )


def _token_text(token: Any) -> str:
    if isinstance(token, dict):  # AddedToken serialised as {"content": ...}
        return str(token.get("content", ""))
    return token if isinstance(token, str) else ""


def _from_gguf(path: Path) -> ChatTemplateSource:
    metadata = read_gguf_metadata(path, _WANTED)
    template = metadata.get("tokenizer.chat_template")
    if not isinstance(template, str):
        raise PromptFormatError(f"{path} carries no tokenizer.chat_template")
    tokens = metadata.get("tokenizer.ggml.tokens") or []

    def token(key: str) -> str:
        token_id = metadata.get(key)
        return tokens[token_id] if isinstance(token_id, int) and token_id < len(tokens) else ""

    return ChatTemplateSource(
        template, token("tokenizer.ggml.bos_token_id"), token("tokenizer.ggml.eos_token_id")
    )


def read_gguf_metadata(path: Path, keys: set[str]) -> dict[str, Any]:
    """The values of `keys` from a GGUF file's metadata (others are skipped unparsed)."""
    with path.open("rb") as handle:
        if handle.read(4) != _GGUF_MAGIC:
            raise PromptFormatError(f"{path} is not a GGUF file")
        version, _tensor_count, kv_count = struct.unpack("<IQQ", handle.read(20))
        if version < 2:
            raise PromptFormatError(f"{path}: GGUF version {version} is not supported")
        found: dict[str, Any] = {}
        for _ in range(kv_count):
            key = _read_string(handle)
            (value_type,) = struct.unpack("<I", handle.read(4))
            wanted = key in keys
            value = _read_value(handle, value_type, keep=wanted)
            if wanted:
                found[key] = value
                if len(found) == len(keys):
                    break
        return found


def _read_string(handle: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", handle.read(8))
    return handle.read(length).decode("utf-8", errors="replace")


def _read_value(handle: BinaryIO, value_type: int, *, keep: bool) -> Any:
    if value_type == 8:
        return _read_string(handle)
    if value_type == 9:
        item_type, count = struct.unpack("<IQ", handle.read(12))
        if not keep and item_type in _SCALARS:
            handle.seek(struct.calcsize(_SCALARS[item_type]) * count, 1)
            return None
        return [_read_value(handle, item_type, keep=keep) for _ in range(count)]
    fmt = _SCALARS.get(value_type)
    if fmt is None:
        raise PromptFormatError(f"unknown GGUF value type {value_type}")
    (value,) = struct.unpack(fmt, handle.read(struct.calcsize(fmt)))
    return value
