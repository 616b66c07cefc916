from __future__ import annotations

import math

from monitor.sparkline import resample, sparkline


def test_values_scale_from_floor_to_max() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7], width=8) == "▁▂▃▄▅▆▇█"


def test_gaps_are_spaces_and_flat_zero_is_the_lowest_block() -> None:
    assert sparkline([None, 0, 0, math.nan], width=10) == " ▁▁ "
    assert sparkline([], width=5) == ""
    assert sparkline([None, None], width=5) == "  "


def test_a_constant_non_zero_line_is_full() -> None:
    assert sparkline([3, 3, 3], width=3) == "███"


def test_resample_keeps_the_maximum_of_each_chunk() -> None:
    assert resample([1, 9, 2, 2, 3, None], width=3) == [9, 2, 3]
    assert resample([None, None, 1, 2], width=2) == [None, 2]
    assert resample([1, 2], width=5) == [1, 2]
    assert resample([1, 2], width=0) == []


def test_long_history_is_squeezed_to_the_width() -> None:
    line = sparkline([float(i % 10) for i in range(300)], width=60)
    assert len(line) == 60
