from __future__ import annotations

from api_server.drop_report import DropReport


def test_reports_at_most_once_per_interval_and_never_loses_a_count() -> None:
    now = [100.0]
    report = DropReport(10.0, clock=lambda: now[0])
    assert report.add(2) == 2  # the first drop is reported at once
    now[0] += 1
    assert report.add(3) is None
    assert report.add() is None
    now[0] += 10
    assert report.add() == 5  # everything since the last report
    assert report.add(4) is None
    assert report.take() == 4
    assert report.take() == 0
