"""The plain-text summary printed at the end of a run (and saved as `summary.txt`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from load_tests.direct_comparison import format_comparison
from load_tests.sweep_table import format_sweep
from load_tests.thresholds import Check

COLUMNS = (
    f"{'scenario':<9} {'reqs':>6} {'fail':>5} {'err%':>6} {'req/s':>6} {'p50':>6} {'p90':>6} "
    f"{'p95':>6} {'p99':>6} {'max':>6}  {'ttft p50/p95':>13}  {'itl p50/p95':>11} {'tok/s':>7}"
)


def format_summary(report: dict[str, Any], checks: list[Check], report_dir: str) -> str:
    config = report["config"]
    lines = [
        f"load test · scenario {config['scenario']} · {_load(config)} · "
        f"{_seconds(report['duration_s'])} s · {_target(config)}"
    ]
    sweep = report.get("sweep")
    direct = report.get("direct")
    if sweep is not None and len(sweep["steps"]) > 1:
        # Locust's rows merge every rate of the sweep: its table alone is worth reading.
        lines += format_sweep(sweep)
        lines += _direct(direct)
        verdict = "PASS" if sweep["passed"] else "FAIL (no rate met the objectives)"
        lines.append(f"sweep (profile {config['profile']}): {verdict}")
        lines.append(f"report: {report_dir}/report.json")
        return "\n".join(lines)
    requests = config.get("requests")
    if requests and report["overall"]["requests"] < requests:
        lines.append(
            f"stopped after {report['overall']['requests']} of {requests} requests: "
            "the --duration cap came first"
        )
    lines += ["latencies in ms", COLUMNS]
    rows = [*report["scenarios"].items(), ("overall", report["overall"])]
    lines += [_row(name, figures) for name, figures in rows]
    lines += _output_len(report["overall"].get("output_len"))
    tool_call_rate = report["overall"].get("tool_call_rate")
    if tool_call_rate is not None:
        lines.append(
            f"tools: {tool_call_rate:.0%} of answers call the function named in tool_choice"
        )
    if sweep is not None:
        lines.append("open loop, measured window only:")
        lines += format_sweep(sweep)
        lines += _direct(direct)
    verdict = "PASS" if all(check.passed for check in checks) else "FAIL"
    lines.append(f"thresholds (profile {config['profile']}): {verdict}")
    lines += [f"  {_check(check)}" for check in checks]
    lines.append(f"report: {report_dir}/report.json")
    return "\n".join(lines)


def _direct(direct: Mapping[str, Any] | None) -> list[str]:
    if direct is None:
        return []
    lines = ["the engine directly, the same requests:", *format_sweep(direct)]
    return lines + format_comparison(direct["comparison"], direct["target"])


def _output_len(output_len: Mapping[str, float | None] | None) -> list[str]:
    """What the answers' lengths were, asked (max_tokens of workloads) and received."""
    if not output_len or output_len["received_mean"] is None:
        return []
    asked = output_len["requested_mean"]
    return [
        "output tokens per answer: "
        + (f"asked {asked:g}, " if asked is not None else "")
        + f"received {output_len['received_mean']:g} (means)"
    ]


def format_suite_summary(suite: dict[str, Any], report_dir: str) -> str:
    """`--scenario all` (`load_tests.suite`): each scenario's overall row, then the combined
    verdict and what failed in each run."""
    runs: dict[str, dict[str, Any] | None] = suite["runs"]
    done = [report for report in runs.values() if report is not None]
    headline = f"load test · scenario all ({', '.join(runs)})"
    if done:
        config = done[0]["config"]
        seconds = sum(report["duration_s"] for report in done)
        headline += f" · {_load(config)} each · {_seconds(seconds)} s in all · {_target(config)}"
    lines = [headline, "latencies in ms (each scenario's overall row)", COLUMNS]
    verdicts = []
    for name, report in runs.items():
        if report is None:
            lines.append(f"{name:<9} no report")
            verdicts.append(f"FAIL {name}: no report")
            continue
        lines.append(_row(name, report["overall"]))
        if report["thresholds"]["passed"]:
            verdicts.append(f"ok   {name}")
            continue
        failed = [check["key"] for check in report["thresholds"]["checks"] if not check["passed"]]
        verdicts.append(f"FAIL {name}" + (f": {', '.join(failed)}" if failed else ""))
    verdict = "PASS" if suite["thresholds"]["passed"] else "FAIL"
    lines.append(f"thresholds (profile {suite['thresholds']['profile']}): {verdict}")
    lines += [f"  {line}" for line in verdicts]
    lines.append(f"reports: {report_dir}/<scenario>/summary.txt, {report_dir}/report.json")
    return "\n".join(lines)


def _load(config: Mapping[str, Any]) -> str:
    arrivals = config.get("arrivals") or {}
    if arrivals.get("mode") == "open-loop":
        rates = arrivals["rates"]
        return (
            f"open loop, sweep {rates}"
            if "," in rates or rates == "auto"
            else (f"open loop at {float(rates):g} req/s")
        )
    requests = config.get("requests")
    if requests:
        return f"{requests} requests at concurrency {config['users']}"
    return f"{config['users']} users"


def _seconds(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"  # a fixed count can take 0.4 s


def _target(config: Mapping[str, Any]) -> str:
    workload = config.get("workload")
    if workload:
        eos = "ignore_eos" if workload["ignore_eos"] else "stops at EOS"
        return (
            f"{config['model']} @ {config['host']} · input {workload['input_len']} · "
            f"output {workload['output_len']} ({eos})"
        )
    prompts = "cache-friendly" if config["cache_friendly"] else "cache-busting"
    return (
        f"{config['model']} @ {config['host']} · max_tokens {config['max_tokens']} · "
        f"{prompts} prompts"
    )


def _row(name: str, figures: dict[str, Any]) -> str:
    latency = figures["latency_ms"]
    error_rate = figures["error_rate"]
    err = "-" if error_rate is None else f"{error_rate * 100:.2f}"
    return (
        f"{name:<9} {figures['requests']:>6} {figures['failures']:>5} {err:>6} "
        f"{_num(figures['requests_per_s'], 2):>6} "
        + " ".join(f"{_num(latency[key]):>6}" for key in ("p50", "p90", "p95", "p99", "max"))
        + f"  {_pair(figures['ttft_ms']):>13}  {_pair(figures['itl_ms']):>11}"
        + f" {_num(figures['output_tokens_per_s'], 1):>7}"
    )


def _pair(percentiles: dict[str, float | None] | None) -> str:
    if percentiles is None:
        return "-"
    return f"{_num(percentiles['p50'])}/{_num(percentiles['p95'])}"


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _check(check: Check) -> str:
    unit = "" if check.key in ("error_rate", "min_requests_per_s") else " ms"
    if check.value is None:
        value = "no data"
    else:
        value = f"{check.value:.0f}{unit}" if unit else f"{check.value:g}"
    relation = "<=" if check.upper_bound else ">="
    mark = "n/a " if check.not_applicable else "ok  " if check.passed else "FAIL"
    return f"{mark} {check.key:<19} {value:>12} {relation} {check.limit:g}{unit}"
