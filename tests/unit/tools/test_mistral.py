from __future__ import annotations

import pytest

from api_server.tools import TextDelta, ToolCallArgumentsDelta, ToolCallStart
from api_server.tools.mistral import MistralToolParser
from tests.unit.tools.helpers import Case, check_case

PARIS = ("get_current_weather", {"location": "Paris, France", "format": "celsius"}, None)
PARIS_ARGS = '{"location": "Paris, France", "format": "celsius"}'

CASES = [
    Case(
        "no call",
        "Bonjour ! Comment puis-je vous aider ?",
        "Bonjour ! Comment puis-je vous aider ?",
    ),
    Case(
        "v3 array, space after the marker, no id",
        f'[TOOL_CALLS] [{{"name": "get_current_weather", "arguments": {PARIS_ARGS}}}]',
        "",
        [PARIS],
    ),
    Case(
        "v7 array with ids, parallel",
        f'[TOOL_CALLS][{{"name": "get_current_weather", "arguments": {PARIS_ARGS}, '
        '"id": "bYk8a9Qz1"}, '
        '{"name": "get_time", "arguments": {"tz": "Europe/Paris"}, "id": "Xc3vB7nM2"}]',
        "",
        [
            ("get_current_weather", PARIS[1], "bYk8a9Qz1"),
            ("get_time", {"tz": "Europe/Paris"}, "Xc3vB7nM2"),
        ],
    ),
    Case(
        "v7 id before the arguments",
        '[TOOL_CALLS][{"id": "a1b2c3d4e", "name": "f", "arguments": {"x": [1, 2]}}]',
        "",
        [("f", {"x": [1, 2]}, "a1b2c3d4e")],
    ),
    Case(
        "text before the marker",
        "Let me look that up."
        f'[TOOL_CALLS][{{"name": "get_current_weather", "arguments": {PARIS_ARGS}}}]',
        "Let me look that up.",
        [PARIS],
    ),
    Case("v13 one call", f"[TOOL_CALLS]get_current_weather[ARGS]{PARIS_ARGS}", "", [PARIS]),
    Case(
        "v13 parallel calls",
        f"[TOOL_CALLS]get_current_weather[ARGS]{PARIS_ARGS}"
        '[TOOL_CALLS]get_time[ARGS]{"tz": "UTC"}',
        "",
        [PARIS, ("get_time", {"tz": "UTC"}, None)],
    ),
    Case(
        "v13 text before and blanks between calls",
        'I will read both files.\n[TOOL_CALLS]read_file[ARGS]{"path": "a.py"}\n'
        '[TOOL_CALLS]read_file[ARGS]{"path": "b.py"}',
        "I will read both files.\n",
        [("read_file", {"path": "a.py"}, None), ("read_file", {"path": "b.py"}, None)],
    ),
    Case(
        "v11 call id",
        '[TOOL_CALLS]get_time[CALL_ID]k9J2mN4pQ[ARGS]{"tz": "UTC"}',
        "",
        [("get_time", {"tz": "UTC"}, "k9J2mN4pQ")],
    ),
    Case(
        "v13 nested JSON, escapes and markers inside strings",
        '[TOOL_CALLS]edit_file[ARGS]{"path": "x.py", '
        '"patch": "def f():\\n    return {\\"a\\": [1]}\\n", '
        '"note": "[ARGS] and [TOOL_CALLS] are just text here \\\\"}',
        "",
        [
            (
                "edit_file",
                {
                    "path": "x.py",
                    "patch": 'def f():\n    return {"a": [1]}\n',
                    "note": "[ARGS] and [TOOL_CALLS] are just text here \\",
                },
                None,
            )
        ],
    ),
    Case(
        "unicode",
        '[TOOL_CALLS][{"name": "traduire", "arguments": {"texte": "Ça coûte 5 € — 東京"}}]',
        "",
        [("traduire", {"texte": "Ça coûte 5 € — 東京"}, None)],
    ),
    Case("marker without a call is content", "[TOOL_CALLS] sorry, no", "[TOOL_CALLS] sorry, no"),
    Case("v13 arguments not an object", "[TOOL_CALLS]f[ARGS]none", "[TOOL_CALLS]f[ARGS]none"),
    Case("v7 malformed is content", '[TOOL_CALLS][{"name": }]', '[TOOL_CALLS][{"name": }]'),
    Case(
        "unterminated v7 is content",
        '[TOOL_CALLS][{"name": "f", "argu',
        '[TOOL_CALLS][{"name": "f", "argu',
    ),
    Case("unterminated v13 name is content", "[TOOL_CALLS]get_wea", "[TOOL_CALLS]get_wea"),
    Case(
        "second v7 call malformed: first kept, rest is content",
        '[TOOL_CALLS][{"name": "f", "arguments": {}}, oops]',
        "oops]",
        [("f", {}, None)],
    ),
    Case("partial marker at the end is content", "Done [TOOL_", "Done [TOOL_"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_mistral_outputs(case: Case) -> None:
    check_case("mistral", case)


def test_v13_streams_arguments() -> None:
    parser = MistralToolParser()
    assert parser.feed("Ok [TOOL") == [TextDelta("Ok ")]
    assert parser.feed("_CALLS]read_file[AR") == []
    assert parser.feed('GS]{"path": "a') == [
        ToolCallStart(0, "read_file"),
        ToolCallArgumentsDelta(0, '{"path": "a'),
    ]
    assert parser.feed('.py"}') == [ToolCallArgumentsDelta(0, '.py"}')]
    assert parser.finish() == []


def test_v7_waits_for_the_id_that_follows_the_arguments() -> None:
    parser = MistralToolParser()
    assert parser.feed('[TOOL_CALLS][{"name": "f", "arguments": {"a": 1}, ') == []
    assert parser.feed('"id": "abc123XYZ"}]') == [
        ToolCallStart(0, "f", "abc123XYZ"),
        ToolCallArgumentsDelta(0, '{"a": 1}'),
    ]
