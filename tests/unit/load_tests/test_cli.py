"""`python -m load_tests`: the Locust command line it builds, and its exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from load_tests.cli import build_parser, locust_argv, main, with_default_mode


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


def argv_of(*options: str, report_dir: Path = Path("r")) -> str:
    return " ".join(
        locust_argv(build_parser().parse_args(with_default_mode(list(options))), report_dir)
    )


def test_a_timed_run_keeps_its_defaults() -> None:
    joined = argv_of("run")
    for part in ("--users 4", "--spawn-rate 2", "--think-time 0.5", "--run-time 30s"):
        assert part in joined
    assert "--max-requests" not in joined


def test_requests_at_a_concurrency_start_every_user_at_once_without_pauses() -> None:
    joined = argv_of("--requests", "50", "--concurrency", "8")  # no mode: `run`
    for part in (
        "--headless", "--max-requests 50", "--users 8", "--spawn-rate 8", "--think-time 0.0",
        "--run-time 1h",
    ):  # fmt: skip
        assert part in joined


def test_requests_take_users_as_concurrency_and_an_explicit_cap_and_pause() -> None:
    joined = argv_of(
        "run", "--requests", "5", "--users", "3", "--duration", "2m", "--think-time", "1"
    )
    for part in (
        "--max-requests 5",
        "--users 3",
        "--spawn-rate 3",
        "--run-time 2m",
        "--think-time 1.0",
    ):
        assert part in joined


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (["--requests", "10", "--processes", "2"], "cannot be combined with --processes"),
        (["--requests", "10", "--processes", "-1"], "cannot be combined with --processes"),
        (["--concurrency", "4"], "--concurrency goes with --requests"),
    ],
)
def test_combinations_that_cannot_work_stop_before_locust(
    options: list[str], error: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--report-dir", str(tmp_path), *options]) == 2
    assert error in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("options", [["run", "--requests", "0"], ["ui", "--scenario", "all"]])
def test_argparse_refuses(options: list[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(options)


def test_the_mode_defaults_to_run_only_before_an_option() -> None:
    assert with_default_mode(["--requests", "3"]) == ["run", "--requests", "3"]
    assert with_default_mode(["ui", "--users", "2"]) == ["ui", "--users", "2"]
    assert with_default_mode(["--help"]) == ["--help"]
    assert with_default_mode([]) == []
