"""The load test's dashboard screenshot never fails a run: one line without Chromium, a
warning on error, nothing with --no-screenshot."""

from __future__ import annotations

from pathlib import Path

import pytest

from load_tests import dashboard
from load_tests.cli import build_parser
from load_tests.dashboard import DashboardScreenshot


def test_without_chromium_one_line_and_no_png(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dashboard, "chromium_binary", lambda: None)
    screenshot = DashboardScreenshot("http://localhost:8000/", tmp_path)
    screenshot.open()
    assert screenshot.take() is None
    out = capsys.readouterr().out
    assert out == "no chromium: dashboard screenshot skipped (scripts/install_chromium.sh)\n"
    assert not (tmp_path / "dashboard.png").exists()


def test_an_error_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def broken(self: DashboardScreenshot) -> None:
        raise RuntimeError("chromium fell over")

    monkeypatch.setattr(dashboard, "chromium_binary", lambda: "/usr/bin/chromium")
    monkeypatch.setattr(DashboardScreenshot, "_watch", broken)
    screenshot = DashboardScreenshot("http://localhost:8000/", tmp_path)
    assert screenshot.url == "http://localhost:8000/dashboard"
    screenshot.open()
    assert screenshot.take() is None
    err = capsys.readouterr().err
    assert err.startswith("warning: dashboard screenshot of http://localhost:8000/dashboard")
    assert "chromium fell over" in err


def test_no_screenshot_flag() -> None:
    assert build_parser().parse_args(["run", "--no-screenshot"]).no_screenshot is True
    assert build_parser().parse_args(["run"]).no_screenshot is False
