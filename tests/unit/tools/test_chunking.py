"""Chunk boundaries must not change what a parser produces, nor make it raise."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api_server.tools import (
    TOOL_CALL_SYNTAXES,
    ParserEvent,
    TextDelta,
    ToolCallArgumentsDelta,
    ToolCallStart,
    build_tool_parser,
    collect,
)
from tests.unit.tools import test_hermes, test_llama3, test_mistral
from tests.unit.tools.helpers import run_parser

SAMPLES: list[tuple[str, str]] = [
    *(("hermes", case.output) for case in test_hermes.CASES),
    *(("llama3-json", case.output) for case in test_llama3.CASES),
    *(("mistral", case.output) for case in test_mistral.CASES),
    ("none", "<tool_call>{}</tool_call>[TOOL_CALLS]"),
]

# Pieces that make up the syntaxes, shuffled into near-misses to shake out edge cases.
FUZZ_PIECES = [
    "<tool_call>", "</tool_call>", "<tool", "<|python_tag|>", "[TOOL_CALLS]", "[ARGS]",
    "[CALL_ID]", "[TOOL_", "{", "}", "[", "]", ",", ":", ";", '"', "\\", " ", "\n", "f",
    '"name"', '"arguments"', '"parameters"', '"id"', '"f"', '"x\\"}"', "1", "null", "é",
]  # fmt: skip


def split(text: str, cuts: list[int]) -> list[str]:
    bounds = [0, *sorted({c % (len(text) + 1) for c in cuts}), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def check_well_formed(events: list[ParserEvent]) -> None:
    """Calls are numbered 0, 1, ... in order; fragments belong to the latest call."""
    current = -1
    for event in events:
        if isinstance(event, TextDelta):
            assert event.text
        elif isinstance(event, ToolCallStart):
            assert event.index == current + 1
            current = event.index
        else:
            assert isinstance(event, ToolCallArgumentsDelta)
            assert event.index == current
            assert event.fragment


@pytest.mark.parametrize(("syntax", "output"), SAMPLES)
@given(cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
@settings(max_examples=40, deadline=None)
def test_samples_split_anywhere(syntax: str, output: str, cuts: list[int]) -> None:
    events = run_parser(syntax, split(output, cuts))
    check_well_formed(events)
    assert collect(events) == collect(run_parser(syntax, [output]))


@given(
    syntax=st.sampled_from(TOOL_CALL_SYNTAXES),
    pieces=st.lists(st.sampled_from(FUZZ_PIECES), max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
)
@settings(max_examples=600, deadline=None)
def test_fuzzed_outputs_never_raise_and_ignore_chunking(
    syntax: str, pieces: list[str], cuts: list[int]
) -> None:
    output = "".join(pieces)
    once = run_parser(syntax, [output])
    check_well_formed(once)
    chunked = run_parser(syntax, split(output, cuts))
    check_well_formed(chunked)
    assert collect(chunked) == collect(once)


@given(
    sample=st.sampled_from(SAMPLES),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(["", *FUZZ_PIECES]))),
    end=st.integers(0, 10_000),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
)
@settings(max_examples=600, deadline=None)
def test_damaged_samples_never_raise_and_ignore_chunking(
    sample: tuple[str, str], edits: list[tuple[int, str]], end: int, cuts: list[int]
) -> None:
    """Real outputs with pieces inserted and cut short: the near-misses models produce."""
    syntax, output = sample
    for at, piece in edits:
        at %= len(output) + 1
        output = output[:at] + piece + output[at:]
    output = output[: end % (len(output) + 1)]
    once = run_parser(syntax, [output])
    check_well_formed(once)
    chunked = run_parser(syntax, split(output, cuts))
    check_well_formed(chunked)
    assert collect(chunked) == collect(once)


@pytest.mark.parametrize(("syntax", "output"), SAMPLES)
def test_nothing_is_lost_without_calls(syntax: str, output: str) -> None:
    """Output that yields no call comes back as content, character for character."""
    parsed = collect(run_parser(syntax, [output]))
    if not parsed.calls and syntax != "llama3-json":
        assert parsed.content == output


def test_unknown_syntax() -> None:
    with pytest.raises(ValueError, match="unknown tool-call syntax"):
        build_tool_parser("xml")


def test_syntaxes() -> None:
    assert set(TOOL_CALL_SYNTAXES) == {"hermes", "llama3-json", "mistral", "none"}
