"""A forced prefix plus a plausible model continuation parses into exactly one call."""

from __future__ import annotations

import json

import pytest

from api_server.chat.conversation import NamedToolChoice, ToolChoice
from api_server.tools import build_tool_parser, collect
from api_server.tools.forcing import forced_call_prefix

NAMED = NamedToolChoice(name="get_weather")
CASES = [
    ("hermes", "chatml", NAMED, '{"city": "Paris"}}\n</tool_call>'),
    ("hermes", "chatml", "required", 'get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'),
    ("llama3-json", "llama3", NAMED, '{"city": "Paris"}}'),
    ("llama3-json", "llama3", "required", 'get_weather", "parameters": {"city": "Paris"}}'),
    ("mistral", "mistral-v13", NAMED, '{"city": "Paris"}'),
    ("mistral", "mistral-v13", "required", 'get_weather[ARGS]{"city": "Paris"}'),
    ("mistral", "mistral-v7", NAMED, '{"city": "Paris"}}]'),
    ("mistral", "mistral-v7", "required", 'get_weather", "arguments": {"city": "Paris"}}]'),
]


@pytest.mark.parametrize(("syntax", "family", "choice", "continuation"), CASES)
def test_prefix_and_continuation_parse_to_one_call(
    syntax: str, family: str, choice: ToolChoice, continuation: str
) -> None:
    prefix = forced_call_prefix(syntax, family, choice)
    assert prefix
    parser = build_tool_parser(syntax)
    events = parser.feed(prefix) + parser.feed(continuation) + parser.finish()
    parsed = collect(events)
    assert parsed.content == ""
    assert [call.name for call in parsed.calls] == ["get_weather"]
    assert json.loads(parsed.calls[0].arguments) == {"city": "Paris"}


@pytest.mark.parametrize("choice", ["auto", "none"])
def test_free_choices_force_nothing(choice: ToolChoice) -> None:
    assert forced_call_prefix("hermes", "chatml", choice) == ""


def test_unknown_syntax_forces_nothing() -> None:
    assert forced_call_prefix("none", "chatml", NAMED) == ""
