"""Llama 3.1/3.3 prompts must equal transformers rendering Meta's official template."""

from __future__ import annotations

import pytest

from api_server.chat.conversation import Conversation
from api_server.prompts import PromptFormatError
from api_server.prompts.llama3 import format_llama3_prompt
from tests.unit.prompts.conversations import PARALLEL_CALLS, PLAIN, WITH_TOOLS
from tests.unit.prompts.reference import official_template, render_with_transformers

TEMPLATE = official_template("meta-llama-Llama-3.1-8B-Instruct.jinja")
CASES = {**PLAIN, **WITH_TOOLS}
NO_TOOL_CHOICE = Conversation(
    WITH_TOOLS["tools_first_turn"].messages, WITH_TOOLS["tools_first_turn"].tools, "none"
)


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_official_template(name: str) -> None:
    expected = render_with_transformers(TEMPLATE, CASES[name], bos_token="<|begin_of_text|>")
    assert format_llama3_prompt(CASES[name]).text == expected


@pytest.mark.parametrize("name", ["tools_first_turn", "tool_round_trip_multi_turn"])
@pytest.mark.parametrize("tools_in_user_message", [True, False])
def test_options_match_template_variables(name: str, tools_in_user_message: bool) -> None:
    kwargs = {"date_string": "02 Mar 2025", "tools_in_user_message": tools_in_user_message}
    expected = render_with_transformers(
        TEMPLATE, CASES[name], bos_token="<|begin_of_text|>", **kwargs
    )
    assert format_llama3_prompt(CASES[name], **kwargs).text == expected  # type: ignore[arg-type]


def test_tool_choice_none_renders_no_tools() -> None:
    expected = render_with_transformers(
        TEMPLATE, Conversation(NO_TOOL_CHOICE.messages), bos_token="<|begin_of_text|>"
    )
    assert format_llama3_prompt(NO_TOOL_CHOICE).text == expected


def test_prompt_metadata() -> None:
    prompt = format_llama3_prompt(PLAIN["single_user"])
    assert prompt.starts_with_bos
    assert prompt.stop == ("<|eot_id|>", "<|eom_id|>")


def test_parallel_calls_are_rejected_like_the_template() -> None:
    with pytest.raises(Exception, match="single tool-calls"):
        render_with_transformers(TEMPLATE, PARALLEL_CALLS, bos_token="<|begin_of_text|>")
    with pytest.raises(PromptFormatError, match="one tool call"):
        format_llama3_prompt(PARALLEL_CALLS)
