"""`python -m load_tests`: the Locust command line it builds, and its exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from load_tests.cli import build_parser, locust_argv, main


def test_run_is_headless_with_reports_in_the_folder(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["run", "--users", "3", "--duration", "5s", "--scenario", "tools", "--cache-friendly",
         "--tools-model", "fake-hermes", "--processes", "2"]
    )  # fmt: skip
    argv = locust_argv(args, tmp_path)
    joined = " ".join(argv)
    for part in (
        "--headless", "--run-time 5s", "--users 3", "--scenario tools", "--cache-friendly",
        "--tools-model fake-hermes", "--load-profile cpu", "--processes 2",
        f"--report-dir {tmp_path}", f"--html {tmp_path}/locust.html", f"--csv {tmp_path}/locust",
    ):  # fmt: skip
        assert part in joined


def test_ui_serves_the_web_ui(tmp_path: Path) -> None:
    argv = locust_argv(build_parser().parse_args(["ui", "--web-port", "8999"]), tmp_path)
    assert "--headless" not in argv
    assert "--web-port" in argv
    assert "8999" in argv


def test_an_unknown_profile_stops_before_locust(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "--profile", "tpu", "--report-dir", str(tmp_path)])
    assert code == 2
    assert "no profile 'tpu'" in capsys.readouterr().err
