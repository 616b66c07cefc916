"""The stop-string cutter for engines that return the stop string in their text (MAX)."""

from __future__ import annotations

import pytest

from api_server.engines.stops import StopStringCutter


def _run(stops: tuple[str, ...], pieces: list[str]) -> tuple[list[str], str | None]:
    cutter = StopStringCutter(stops)
    passed = [cutter.feed(piece) for piece in pieces]
    if cutter.stopped is None:
        passed.append(cutter.finish())
    return passed, cutter.stopped


@pytest.mark.parametrize(
    ("stops", "pieces", "passed", "stopped"),
    [
        # MAX 26.7 with stop ["5"]: "1, 2, 3, 4, 5" → the text before the stop.
        (("5",), ["1,", " 2,", " 3,", " 4,", " 5"], ["1,", " 2,", " 3,", " 4,", " "], "5"),
        # A stop split over chunks is held back, never passed on in part.
        (("END",), ["one E", "N", "D two"], ["one ", "", ""], "END"),
        # A held prefix that turns out not to be a stop is released with the next piece.
        (("END",), ["one E", "X", " two"], ["one ", "EX", " two", ""], None),
        # ...or at the finish.
        (("END",), ["one EN"], ["one ", "EN"], None),
        # The first stop in the text wins, whichever is listed first.
        (("b", "a"), ["xab"], ["x"], "a"),
        # Nothing after the stop gets through, even in later pieces.
        (("|",), ["a|b", "c"], ["a", ""], "|"),
        # An empty stop list (or empty strings in it) passes everything.
        (("",), ["abc"], ["abc", ""], None),
        # A template end-of-turn string the engine echoes is cut the same way.
        (("<|im_end|>",), ["Paris.<|im", "_end|>"], ["Paris.", ""], "<|im_end|>"),
    ],
)
def test_cutter(
    stops: tuple[str, ...], pieces: list[str], passed: list[str], stopped: str | None
) -> None:
    assert _run(stops, pieces) == (passed, stopped)


def test_passed_text_never_contains_a_stop_whatever_the_chunking() -> None:
    text = "alpha STOP beta"
    for split in range(1, len(text)):
        passed, stopped = _run(("STOP",), [text[:split], text[split:]])
        assert "".join(passed) == "alpha " and stopped == "STOP"
