"""Chat templates read from model files, checked against the official `gguf` reader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api_server.chat.conversation import ChatMessage, Conversation
from api_server.prompts import build_formatter
from api_server.prompts.errors import PromptFormatError
from api_server.prompts.template_source import load_chat_template, read_gguf_metadata

REPO = Path(__file__).resolve().parents[3]
SMOLLM2_GGUF = REPO / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
needs_model = pytest.mark.skipif(
    not SMOLLM2_GGUF.exists(), reason="models/ has no SmolLM2 GGUF (make model)"
)


@needs_model
def test_gguf_metadata_matches_the_official_reader() -> None:
    gguf = pytest.importorskip("gguf")
    fields = gguf.GGUFReader(str(SMOLLM2_GGUF)).fields
    ours = read_gguf_metadata(
        SMOLLM2_GGUF, {"tokenizer.chat_template", "tokenizer.ggml.bos_token_id", "general.name"}
    )
    assert ours["tokenizer.chat_template"] == fields["tokenizer.chat_template"].contents()
    assert ours["tokenizer.ggml.bos_token_id"] == fields["tokenizer.ggml.bos_token_id"].contents()
    assert ours["general.name"] == fields["general.name"].contents()


@needs_model
def test_gguf_template_renders_like_the_chatml_formatter() -> None:
    source = load_chat_template(SMOLLM2_GGUF)
    assert (source.bos_token, source.eos_token) == ("<|im_start|>", "<|im_end|>")
    conversation = Conversation(messages=(ChatMessage(role="user", content="Hi there"),))
    from_file = build_formatter("jinja", chat_template=source.template, bos_token=source.bos_token)(
        conversation
    )
    builtin = build_formatter(
        "chatml",
        default_system="You are a helpful AI assistant named SmolLM, trained by Hugging Face",
    )(conversation)
    assert from_file.text == builtin.text


def test_tokenizer_config_json(tmp_path: Path) -> None:
    path = tmp_path / "tokenizer_config.json"
    path.write_text(
        json.dumps(
            {
                "chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}"
                "{% endfor %}",
                "bos_token": {"content": "<s>", "lstrip": False},
                "eos_token": "</s>",
            }
        )
    )
    source = load_chat_template(path)
    assert (source.bos_token, source.eos_token) == ("<s>", "</s>")
    rendered = build_formatter("jinja", chat_template=source.template, bos_token="<s>")(
        Conversation(messages=(ChatMessage(role="user", content="hello"),))
    )
    assert rendered.text == "<s>hello"
    assert rendered.starts_with_bos


def test_named_templates_pick_default(tmp_path: Path) -> None:
    path = tmp_path / "tokenizer_config.json"
    path.write_text(
        json.dumps(
            {
                "chat_template": [
                    {"name": "tool_use", "template": "T"},
                    {"name": "default", "template": "D"},
                ]
            }
        )
    )
    assert load_chat_template(path).template == "D"


def test_files_without_a_template_are_refused(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text("{}")
    with pytest.raises(PromptFormatError, match="no chat_template"):
        load_chat_template(tmp_path / "c.json")
    (tmp_path / "x.gguf").write_bytes(b"NOPE")
    with pytest.raises(PromptFormatError, match="not a GGUF"):
        load_chat_template(tmp_path / "x.gguf")
