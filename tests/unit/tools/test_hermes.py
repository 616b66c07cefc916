from __future__ import annotations

import pytest

from api_server.tools import TextDelta, ToolCallArgumentsDelta, ToolCallStart
from api_server.tools.hermes import HermesToolParser
from tests.unit.tools.helpers import Case, check_case

WEATHER = '{"name": "get_current_weather", "arguments": {"city": "Dallas", "unit": "fahrenheit"}}'

CASES = [
    Case("no call", "The capital of France is Paris.", "The capital of France is Paris."),
    Case(
        "one call",
        f"<tool_call>\n{WEATHER}\n</tool_call>",
        "",
        [("get_current_weather", {"city": "Dallas", "unit": "fahrenheit"}, None)],
    ),
    Case(
        "text before a call",
        f"Let me check the weather for you.\n\n<tool_call>\n{WEATHER}\n</tool_call>",
        "Let me check the weather for you.\n\n",
        [("get_current_weather", {"city": "Dallas", "unit": "fahrenheit"}, None)],
    ),
    Case(
        "parallel calls",
        f"<tool_call>\n{WEATHER}\n</tool_call>\n<tool_call>\n"
        '{"name": "get_time", "arguments": {"tz": "America/Chicago"}}\n</tool_call>',
        "",
        [
            ("get_current_weather", {"city": "Dallas", "unit": "fahrenheit"}, None),
            ("get_time", {"tz": "America/Chicago"}, None),
        ],
    ),
    Case(
        "braces and escaped quotes in strings",
        '<tool_call>\n{"name": "run", "arguments": {"code": "if x:\\n    print(\\"}{\\")", '
        '"nested": {"a": [1, {"b": "]"}], "c": null}}}\n</tool_call>',
        "",
        [
            (
                "run",
                {"code": 'if x:\n    print("}{")', "nested": {"a": [1, {"b": "]"}], "c": None}},
                None,
            )
        ],
    ),
    Case(
        "unicode",
        '<tool_call>\n{"name": "translate", "arguments": {"text": "naïve café 東京 🚀", '
        '"to": "\\u00e9"}}\n</tool_call>',
        "",
        [("translate", {"text": "naïve café 東京 🚀", "to": "é"}, None)],
    ),
    Case(
        "no arguments key means no arguments",
        '<tool_call>\n{"name": "get_time"}\n</tool_call>',
        "",
        [("get_time", {}, None)],
    ),
    Case(
        "name after arguments",
        '<tool_call>\n{"arguments": {"q": "x"}, "name": "search"}\n</tool_call>',
        "",
        [("search", {"q": "x"}, None)],
    ),
    Case(
        "arguments as a JSON string",
        '<tool_call>\n{"name": "search", "arguments": "{\\"q\\": \\"x\\"}"}\n</tool_call>',
        "",
        [("search", {"q": "x"}, None)],
    ),
    Case(
        "doubled closing brace is dropped",
        '<tool_call>\n{"name": "f", "arguments": {"a": 1}}}\n</tool_call>\nDone.',
        "Done.",
        [("f", {"a": 1}, None)],
    ),
    Case(
        "missing closing brace still a call",
        '<tool_call>\n{"name": "f", "arguments": {"a": 1}\n</tool_call>',
        "",
        [("f", {"a": 1}, None)],
    ),
    Case(
        "malformed call is content",
        "<tool_call>not json</tool_call> ok",
        "<tool_call>not json</tool_call> ok",
    ),
    Case(
        "object without a name is content",
        '<tool_call>{"arguments": {}}</tool_call>',
        '<tool_call>{"arguments": {}}</tool_call>',
    ),
    Case(
        "unterminated call is content",
        '<tool_call>\n{"name": "f", "argu',
        '<tool_call>\n{"name": "f", "argu',
    ),
    Case(
        "malformed call, then a good one",
        '<tool_call>{"name": 3}</tool_call>\n<tool_call>{"name": "f", "arguments": {}}</tool_call>',
        '<tool_call>{"name": 3}</tool_call>\n',
        [("f", {}, None)],
    ),
    Case("lone tag start is content", "a <tool", "a <tool"),
    Case("a close tag alone is content", "x </tool_call> y", "x </tool_call> y"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hermes_outputs(case: Case) -> None:
    check_case("hermes", case)


def test_text_streams_before_the_tag_is_complete() -> None:
    parser = HermesToolParser()
    assert parser.feed("Checking <tool") == [TextDelta("Checking ")]
    assert parser.feed("_call>\n") == []
    assert parser.feed('{"name": "f", ') == []
    assert parser.feed('"arguments": {"a"') == [
        ToolCallStart(0, "f"),
        ToolCallArgumentsDelta(0, '{"a"'),
    ]
    assert parser.feed(": 1}}") == [ToolCallArgumentsDelta(0, ": 1}")]
    assert parser.feed("\n</tool_call>") == []
    assert parser.finish() == []


def test_cut_off_arguments_keep_what_was_sent() -> None:
    parser = HermesToolParser()
    events = parser.feed('<tool_call>{"name": "f", "arguments": {"a": "ab')
    assert events == [ToolCallStart(0, "f"), ToolCallArgumentsDelta(0, '{"a": "ab')]
    assert parser.finish() == []
