"""The step's progress bar: in place on a terminal, a line a quarter into a log."""

from __future__ import annotations

import io

from load_tests.progress import StepProgress, bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_fills_with_the_fraction() -> None:
    assert bar(0, 4) == "[....]"
    assert bar(0.5, 4) == "[##..]"
    assert bar(2, 4) == "[####]"


def test_a_log_gets_a_line_at_each_quarter_only() -> None:
    out = io.StringIO()
    progress = StepProgress("step 1/3 · 2 req/s", 20, out)
    for second in range(0, 22):
        progress.tick(second, sent=second * 2, answered=max(0, second * 2 - 3))
    lines = out.getvalue().splitlines()
    assert [line.split("] ")[1].split(" s")[0] for line in lines] == [
        "5/20",
        "10/20",
        "15/20",
        "20/20",
    ]
    assert (
        lines[-1] == "step 1/3 · 2 req/s [########################] 20/20 s · 40 sent · 37 answered"
    )


def test_a_terminal_redraws_one_line_and_clears_it_at_the_end() -> None:
    out = Terminal()
    progress = StepProgress("step 2/3", 10, out)
    progress.tick(1, 2, 1)
    progress.tick(2, 4, 3)
    progress.done()
    text = out.getvalue()
    assert "\n" not in text and text.count("\r") == 3 and text.endswith("\r\x1b[K")
