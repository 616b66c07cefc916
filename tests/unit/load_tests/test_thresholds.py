"""Profiles of configs/load_test.yaml and the checks of a report against them."""

from __future__ import annotations

from pathlib import Path

import pytest

from load_tests.thresholds import Check, ConfigError, evaluate, load_profile


def test_the_gpu_profile_holds_the_spec_targets() -> None:
    gpu = load_profile("gpu")
    assert gpu.thresholds == {
        "latency_p50_ms": 500, "latency_p95_ms": 1000, "latency_p99_ms": 1500, "error_rate": 0.001,
        "min_requests_per_s": 20,
    }  # fmt: skip


def test_the_gpu_profile_fails_a_run_below_its_throughput_floor() -> None:
    overall = {"latency_ms": {"p50": 100, "p95": 200, "p99": 300}, "error_rate": 0.0}
    checks = evaluate({**overall, "requests_per_s": 12.0}, load_profile("gpu").thresholds)
    assert [check.key for check in checks if not check.passed] == ["min_requests_per_s"]
    checks = evaluate({**overall, "requests_per_s": 25.0}, load_profile("gpu").thresholds)
    assert all(check.passed for check in checks)


def test_the_cpu_profile_is_looser_than_the_gpu_one() -> None:
    cpu, gpu = load_profile("cpu"), load_profile("gpu")
    assert cpu.max_tokens > 0
    for key, limit in gpu.thresholds.items():
        if key == "min_requests_per_s":  # a floor: the CPU profile has none, or a lower one
            assert cpu.thresholds.get(key, 0) <= limit
        else:
            assert cpu.thresholds[key] >= limit


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("profiles: {cpu: {}}", "no profile 'gpu'"),
        ("profiles: {gpu: {thresholds: {latency_p42_ms: 1}}}", "unknown thresholds"),
        ("profiles: {gpu: {thresholds: {error_rate: lots}}}", "could not convert"),
        ("profiles: [", "load_test.yaml"),
        ("profiles: [gpu]", "no profile 'gpu'"),
        ("profiles: {gpu: [1]}", "expected max_tokens and thresholds"),
        ("profiles: {gpu: {scenarios: {long: {}}}}", "scenarios: expected"),
        ("profiles: {gpu: {scenarios: [long]}}", "scenarios: expected"),
        (
            "profiles: {gpu: {scenarios: {long: {thresholds: {latency_p42_ms: 1}}}}}",
            "unknown thresholds",
        ),
    ],
)
def test_a_bad_profile_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "load_test.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_profile("gpu", path)


def test_a_scenario_may_change_some_thresholds_of_its_own() -> None:
    cpu, long = load_profile("cpu"), load_profile("cpu", scenario="long")
    assert long.thresholds["latency_p50_ms"] > cpu.thresholds["latency_p50_ms"]
    assert long.thresholds["error_rate"] == cpu.thresholds["error_rate"]  # the rest: the same
    assert load_profile("cpu", scenario="short") == cpu
    assert load_profile("cpu", scenario="mixed") == cpu  # a mix holds the profile's own


OVERALL = {
    "latency_ms": {"p50": 400.0, "p95": 1200.0, "p99": 1400.0},
    "ttft_ms": None,
    "error_rate": 0.0,
    "requests_per_s": 12.5,
}


def test_checks_compare_the_overall_figures() -> None:
    checks = evaluate(
        OVERALL,
        {"latency_p50_ms": 500, "latency_p95_ms": 1000, "error_rate": 0.001,
         "min_requests_per_s": 20},
    )  # fmt: skip
    assert [(check.key, check.value, check.passed) for check in checks] == [
        ("latency_p50_ms", 400.0, True),
        ("latency_p95_ms", 1200.0, False),
        ("error_rate", 0.0, True),
        ("min_requests_per_s", 12.5, False),  # a floor, not a ceiling
    ]


def test_a_figure_the_run_did_not_produce_fails_its_check() -> None:
    (check,) = evaluate({**OVERALL, "latency_ms": {"p50": None}}, {"latency_p50_ms": 500})
    assert check.value is None
    assert not check.passed
    assert check.as_dict() == {
        "key": "latency_p50_ms",
        "limit": 500,
        "value": None,
        "passed": False,
    }


def test_ttft_does_not_apply_to_a_run_without_streams() -> None:
    (check,) = evaluate(OVERALL, {"ttft_p95_ms": 1000})
    assert check.passed
    assert check.as_dict()["not_applicable"] is True
    (check,) = evaluate({**OVERALL, "ttft_ms": {"p95": 1500.0}}, {"ttft_p95_ms": 1000})
    assert not check.passed


def test_a_value_on_the_limit_passes() -> None:
    assert Check("latency_p50_ms", 500, 500.0, upper_bound=True).passed
    assert Check("min_requests_per_s", 20, 20.0, upper_bound=False).passed


def test_profiles_carry_objectives_for_open_loop_runs(tmp_path: Path) -> None:
    assert load_profile("gpu").objectives.limits == {"ttft_ms": 500, "tpot_ms": 50, "e2e_ms": 1500}
    assert load_profile("cpu").objectives.limits  # set, looser
    config = tmp_path / "load_test.yaml"
    config.write_text("profiles:\n  bare:\n    thresholds: {error_rate: 0.01}\n")
    assert load_profile("bare", config).objectives.limits == {}
    config.write_text("profiles:\n  odd:\n    thresholds: {}\n    objectives: {p99: 1}\n")
    with pytest.raises(ConfigError, match="unknown objectives"):
        load_profile("odd", config)
