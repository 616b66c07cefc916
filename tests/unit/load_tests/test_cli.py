"""`python -m load_tests`: the Locust command line it builds, and its exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from load_tests.cli import build_parser, duration_seconds, locust_argv, main, with_default_mode


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


def test_an_open_loop_rate_runs_one_dispatching_user_until_the_sweep_quits() -> None:
    joined = argv_of(
        "run", "--rate", "4", "--duration", "2m", "--warmup", "3", "--burstiness", "0.5",
        "--seed", "9", "--users", "8",
    )  # fmt: skip
    for part in (
        "--users 1", "--spawn-rate 1", "--rate 4.0", "--step-duration 120.0", "--warmup 3.0",
        "--burstiness 0.5", "--seed 9", "--headless",
    ):  # fmt: skip
        assert part in joined
    assert "--run-time" not in joined  # the last step ends the run, however long it takes
    assert "--sweep " not in joined


def test_a_sweep_passes_its_rates_and_a_timed_run_has_no_open_loop_options() -> None:
    joined = argv_of("run", "--sweep", "auto", "--sweep-start", "2", "--repeat", "3")
    for part in (
        "--sweep auto", "--sweep-start 2.0", "--step-duration 30.0", "--warmup 5.0", "--repeat 3",
    ):  # fmt: skip
        assert part in joined
    assert "--step-duration" not in argv_of("run")
    assert "--step-duration" not in argv_of("ui")


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("2m", 120), ("1h30m", 5400), ("45", 45), ("1.5", 1.5)]
)
def test_durations_read_like_locusts(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (["--rate", "2", "--sweep", "1,2"], "give one of them"),
        (["--rate", "2", "--requests", "10"], "do not take --requests"),
        (["--sweep", "1,2", "--processes", "2"], "no --processes"),
        (["--rate", "2", "--scenario", "all"], "not --scenario all"),
        (["--rate", "2", "--duration", "soon"], "not a duration"),
    ],
)
def test_open_loop_combinations_that_cannot_work_stop_before_locust(
    options: list[str], error: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--report-dir", str(tmp_path), *options]) == 2
    assert error in capsys.readouterr().err


@pytest.mark.parametrize(
    "options",
    [["run", "--sweep", "1,0"], ["run", "--rate", "0"], ["run", "--rate", "1", "--repeat", "0"]],
)
def test_argparse_refuses_rates_of_zero(options: list[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(options)


def test_an_auto_sweep_needs_objectives_to_look_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "load_test.yaml"
    config.write_text("profiles:\n  bare:\n    thresholds: {error_rate: 0.01}\n")
    options = ["--config", str(config), "--profile", "bare", "--report-dir", str(tmp_path / "r")]
    assert main(["run", "--sweep", "auto", *options]) == 2
    assert "--sweep auto needs objectives in profile 'bare'" in capsys.readouterr().err
