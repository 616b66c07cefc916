from __future__ import annotations

import pytest

from api_server.tools import (
    ParsedOutput,
    ParsedToolCall,
    ParserEvent,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStart,
    collect,
)

TABLE: list[tuple[str, list[ParserEvent], ParsedOutput]] = [
    ("nothing", [], ParsedOutput("", [])),
    ("text only", [TextDelta("Hel"), TextDelta("lo")], ParsedOutput("Hello", [])),
    (
        "text then one call in fragments",
        [
            TextDelta("Checking."),
            ToolCallStart(0, "get_weather"),
            ToolCallArgumentsDelta(0, '{"city": '),
            ToolCallArgumentsDelta(0, '"Paris"}'),
        ],
        ParsedOutput("Checking.", [ParsedToolCall("get_weather", '{"city": "Paris"}', None)]),
    ),
    (
        "parallel calls with model ids, text after",
        [
            ToolCallStart(0, "f", "abc123XYZ"),
            ToolCallArgumentsDelta(0, "{}"),
            ToolCallStart(1, "g", "def456UVW"),
            ToolCallArgumentsDelta(1, '{"x": 1}'),
            TextDelta("done"),
        ],
        ParsedOutput(
            "done",
            [ParsedToolCall("f", "{}", "abc123XYZ"), ParsedToolCall("g", '{"x": 1}', "def456UVW")],
        ),
    ),
    (
        "a call without fragments has empty arguments text",
        [ToolCallStart(0, "f")],
        ParsedOutput("", [ParsedToolCall("f", "", None)]),
    ),
]


@pytest.mark.parametrize(("events", "expected"), [t[1:] for t in TABLE], ids=[t[0] for t in TABLE])
def test_collect(events: list[ParserEvent], expected: ParsedOutput) -> None:
    assert collect(events) == expected


def test_arguments_before_start_is_a_parser_bug() -> None:
    with pytest.raises(ValueError, match="before its start"):
        collect([ToolCallArgumentsDelta(0, "{}")])
