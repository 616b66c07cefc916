"""Shared helpers for the tool-parser tests: run a parser in one piece or in chunks."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from api_server.tools import ParsedOutput, ParserEvent, build_tool_parser, collect


@dataclass(frozen=True)
class Case:
    """A raw model output and what the client should get from it."""

    id: str
    output: str
    content: str
    calls: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)


def run_parser(syntax: str, pieces: Iterable[str]) -> list[ParserEvent]:
    parser = build_tool_parser(syntax)
    events: list[ParserEvent] = []
    for piece in pieces:
        events.extend(parser.feed(piece))
    events.extend(parser.finish())
    return events


def parse_once(syntax: str, output: str) -> ParsedOutput:
    return collect(run_parser(syntax, [output]))


def decoded_calls(parsed: ParsedOutput) -> list[tuple[str, dict[str, Any], str | None]]:
    return [(call.name, json.loads(call.arguments), call.model_id) for call in parsed.calls]


def check_case(syntax: str, case: Case) -> None:
    """One-shot and character-by-character parsing both give the expected result."""
    once = parse_once(syntax, case.output)
    assert once.content == case.content
    assert decoded_calls(once) == case.calls
    assert collect(run_parser(syntax, list(case.output))) == once
