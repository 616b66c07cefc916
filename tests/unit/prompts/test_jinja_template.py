"""JinjaChatTemplate must behave like transformers' chat template rendering."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from api_server.chat.conversation import ChatMessage, Conversation
from api_server.prompts import PROMPT_FAMILIES, build_formatter
from api_server.prompts.chatml import SMOLLM2_DEFAULT_SYSTEM, make_chatml_formatter
from api_server.prompts.jinja_template import ChatTemplateError, JinjaChatTemplate
from api_server.prompts.llama3 import format_llama3_prompt
from tests.unit.prompts.conversations import PARALLEL_CALLS, PLAIN, WITH_TOOLS
from tests.unit.prompts.reference import official_template, render_with_transformers

HELLO = Conversation((ChatMessage("user", '<b>Hi</b> & "you" é'),))


@pytest.mark.parametrize(
    ("template", "conversation"),
    [
        ("{{ {'b': 1, 'a': '<&>é'} | tojson }}", HELLO),
        ("{{ messages | tojson(indent=2) }}", HELLO),
        ("{{ tools | tojson }}", WITH_TOOLS["tools_first_turn"]),
        ("{{ messages | tojson }}", WITH_TOOLS["tool_round_trip_multi_turn"]),
        ("{{ messages | tojson }}", PARALLEL_CALLS),
        (
            "{% for m in messages %}\n  {% if m.role == 'user' %}\n{{ m.content }}\n"
            "  {% endif %}\n{% endfor %}",
            HELLO,
        ),
        ("{{ bos_token }}{% if add_generation_prompt %}GEN{{ eos_token }}{% endif %}", HELLO),
        (
            "{% for m in messages %}{% if loop.index > 1 %}{% break %}{% endif %}"
            "{{ m.role }}{% endfor %}",
            PLAIN["multi_turn"],
        ),
        (
            "{% for m in messages %}{% generation %}[{{ m.role }}]{% endgeneration %}{% endfor %}",
            PLAIN["multi_turn"],
        ),
    ],
)
def test_renders_like_transformers(template: str, conversation: Conversation) -> None:
    expected = render_with_transformers(template, conversation, bos_token="<s>", eos_token="</s>")
    assert JinjaChatTemplate(template, "<s>", "</s>").render(conversation) == expected


def test_tojson_keeps_key_order_and_does_not_escape_html() -> None:
    text = JinjaChatTemplate("{{ {'b': 1, 'a': '<&>é'} | tojson }}").render(HELLO)
    assert text == '{"b": 1, "a": "<&>é"}'


def test_raise_exception_becomes_chat_template_error() -> None:
    template = JinjaChatTemplate("{{ raise_exception('only user turns, please') }}")
    with pytest.raises(ChatTemplateError, match="only user turns, please"):
        template(HELLO)


def test_strftime_now() -> None:
    text = JinjaChatTemplate("{{ strftime_now('%Y') }}").render(HELLO)
    assert text == str(datetime.now().year)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{% if %}", "does not compile"),
        ("{{ messages[0].content + 1 }}", "failed to render"),
        ("{{ ''.__class__.__mro__ }}", "failed to render"),
    ],
)
def test_template_failures_are_value_errors(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        JinjaChatTemplate(template)(HELLO)


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_smollm2_template_equals_chatml_formatter(name: str) -> None:
    # No bos_token: SmolLM2's BOS is `<|im_start|>` itself, which the ChatML formatter never
    # reports as a separate BOS (llama.cpp does not add one for this model either).
    template = JinjaChatTemplate(official_template("SmolLM2-135M-Instruct.jinja"), "", "<|im_end|>")
    prompt = template(PLAIN[name])
    assert prompt.text == make_chatml_formatter(SMOLLM2_DEFAULT_SYSTEM)(PLAIN[name]).text
    assert not prompt.starts_with_bos
    assert prompt.stop == ("<|im_end|>",)


@pytest.mark.parametrize("name", sorted({**PLAIN, **WITH_TOOLS}))
def test_llama31_template_equals_llama3_formatter(name: str) -> None:
    conversation = {**PLAIN, **WITH_TOOLS}[name]
    prompt = JinjaChatTemplate(
        official_template("meta-llama-Llama-3.1-8B-Instruct.jinja"), "<|begin_of_text|>"
    )(conversation)
    assert prompt.text == format_llama3_prompt(conversation).text
    assert prompt.starts_with_bos


def test_build_formatter_knows_every_family() -> None:
    for family in PROMPT_FAMILIES:
        template = "{{ messages[0].content }}" if family == "jinja" else None
        assert build_formatter(family, chat_template=template)(HELLO).text


def test_build_formatter_rejects_unknown_family() -> None:
    with pytest.raises(ValueError, match=re.escape(", ".join(PROMPT_FAMILIES))):
        build_formatter("alpaca")
    with pytest.raises(ValueError, match="chat_template"):
        build_formatter("jinja")
