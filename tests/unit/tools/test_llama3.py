from __future__ import annotations

import pytest

from api_server.tools import TextDelta, ToolCallArgumentsDelta, ToolCallStart
from api_server.tools.llama3 import Llama3JsonToolParser
from tests.unit.tools.helpers import Case, check_case

WEATHER = (
    '{"name": "get_current_weather", "parameters": {"city": "San Francisco", "unit": "celsius"}}'
)
WEATHER_CALL = ("get_current_weather", {"city": "San Francisco", "unit": "celsius"}, None)

CASES = [
    Case("no call", "It is sunny in San Francisco today.", "It is sunny in San Francisco today."),
    Case("one call", WEATHER, "", [WEATHER_CALL]),
    Case("python tag and leading blanks", f"\n <|python_tag|>{WEATHER}", "", [WEATHER_CALL]),
    Case(
        "arguments key accepted",
        '{"name": "f", "arguments": {"x": 1}}',
        "",
        [("f", {"x": 1}, None)],
    ),
    Case(
        "parallel calls separated by semicolons",
        f'<|python_tag|>{WEATHER}; {{"name": "get_time", "parameters": {{"tz": "PST"}}}}',
        "",
        [WEATHER_CALL, ("get_time", {"tz": "PST"}, None)],
    ),
    Case(
        "parallel calls separated by newlines",
        f'{WEATHER}\n{{"name": "get_time", "parameters": {{}}}}',
        "",
        [WEATHER_CALL, ("get_time", {}, None)],
    ),
    Case(
        "nested JSON and escaped quotes",
        '{"name": "sql", "parameters": {"query": "SELECT \\"a}\\" FROM t WHERE x = \'{\'", '
        '"opts": {"limit": [1, 2, {"deep": true}]}}}',
        "",
        [
            (
                "sql",
                {
                    "query": "SELECT \"a}\" FROM t WHERE x = '{'",
                    "opts": {"limit": [1, 2, {"deep": True}]},
                },
                None,
            )
        ],
    ),
    Case(
        "unicode",
        '{"name": "greet", "parameters": '
        '{"name": "Zoë", "lang": "日本語", "emoji": "\\ud83d\\ude00"}}',
        "",
        [("greet", {"name": "Zoë", "lang": "日本語", "emoji": "😀"}, None)],
    ),
    Case(
        "text first means no call",
        'Sure! {"name": "f", "parameters": {}}',
        'Sure! {"name": "f", "parameters": {}}',
    ),
    Case("plain JSON content", '{"answer": 42}', '{"answer": 42}'),
    Case("name without parameters is content", '{"name": "Bob"}', '{"name": "Bob"}'),
    Case(
        "malformed is content",
        '  {"name": "f", "parameters": 5}',
        '  {"name": "f", "parameters": 5}',
    ),
    Case("unterminated is content", '{"name": "f", "param', '{"name": "f", "param'),
    Case(
        "interpreter code is content without the tag",
        "<|python_tag|>import math\nprint(math.sqrt(2))",
        "import math\nprint(math.sqrt(2))",
    ),
    Case(
        "text after the calls is content",
        f"{WEATHER};\nI will report back.",
        "I will report back.",
        [WEATHER_CALL],
    ),
    Case(
        "missing outer brace before a separator",
        '{"name": "f", "parameters": {"a": 1}; {"name": "g", "parameters": {}}',
        "",
        [("f", {"a": 1}, None), ("g", {}, None)],
    ),
    Case("partial tag at the end is content", "<|python_", "<|python_"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_llama3_outputs(case: Case) -> None:
    check_case("llama3-json", case)


def test_content_streams_as_soon_as_it_is_not_a_call() -> None:
    parser = Llama3JsonToolParser()
    assert parser.feed("  ") == []
    assert parser.feed("Hi") == [TextDelta("  Hi")]
    assert parser.feed(" {") == [TextDelta(" {")]


def test_call_streams() -> None:
    parser = Llama3JsonToolParser()
    assert parser.feed('<|python_tag|>{"name": "f", "parameters": ') == []
    assert parser.feed('{"q": "x') == [ToolCallStart(0, "f"), ToolCallArgumentsDelta(0, '{"q": "x')]
    assert parser.feed('"}}') == [ToolCallArgumentsDelta(0, '"}')]
    assert parser.finish() == []
