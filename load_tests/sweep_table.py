"""The terminal table of an open-loop run: one row per rate, then what the rates say."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BUSY_CLIENT_CPU = 90.0  # % of one core: past it, the client may limit the rate it sends
LATE_CLIENT_MS = 50.0  # p99 send lateness: past it, requests left later than scheduled

COLUMNS = (
    f"{'rate':>7} {'offered':>7} {'achieved':>8} {'goodput':>7} {'tok/s':>7}  "
    f"{'e2e p50/p90/p99':>17}  {'ttft p50/p90/p99':>17}  {'tpot p50/p99':>12}  "
    f"{'itl p50/p99':>11} {'out asked/got':>13} {'err%':>5} {'t/o':>4} {'attain':>6} "
    f"{'late99':>6} {'cpu%':>5}  met"
)


def format_sweep(sweep: Mapping[str, Any]) -> list[str]:
    steps = sweep["steps"]
    lines = [_objectives(sweep["objectives"])]
    if steps:
        first = steps[0]
        if first["burstiness"] == 0:  # a replay at its recorded times
            lines.append(
                f"recorded schedule: {first['requests']} requests over {first['window_s']:g} s "
                "as the recording sent them"
            )
        else:
            lines.append(
                f"each rate: {first['warmup_s']:g} s warm-up (discarded), "
                f"{first['window_s']:g} s measured · burstiness {first['burstiness']:g}"
                f"{' (Poisson)' if first['burstiness'] == 1 else ''} · seed {first['seed']}"
            )
    lines += ["rates in requests/s, latencies in ms", COLUMNS]
    lines += [_row(step) for step in sorted(steps, key=lambda step: step["rate"])]
    best = sweep["max_goodput_rate"]
    lines.append(
        f"max goodput rate: {best:g} req/s (the highest rate meeting the objectives)"
        if best is not None
        else "max goodput rate: none (no rate met the objectives)"
    )
    saturation = sweep["saturation"]
    lines.append(
        f"saturation from: {saturation['rate']:g} req/s ({saturation['why']})"
        if saturation is not None
        else "saturation: not reached"
    )
    lines += _client_warnings(steps)
    lines += format_spread(steps)
    lines += format_agreement(steps)
    return lines


SPREAD_SHOWN = (
    ("achieved", "achieved_per_s"), ("goodput", "goodput_per_s"), ("e2e p50", "e2e_ms.p50"),
    ("e2e p99", "e2e_ms.p99"), ("ttft p50", "ttft_ms.p50"), ("tpot p50", "tpot_ms.p50"),
)  # fmt: skip


def format_spread(steps: list[Mapping[str, Any]]) -> list[str]:
    """Repeated rates (--repeat): each figure's lowest and highest over the runs."""
    repeated = [step for step in steps if step.get("spread")]
    if not repeated:
        return []
    lines = [f"spread over {repeated[0]['repeats']} runs of each rate (lowest-highest run):"]
    for step in sorted(repeated, key=lambda step: step["rate"]):
        spread = step["spread"]
        shown = "  ".join(
            f"{name} {_num(spread[key][0])}-{_num(spread[key][1])}" for name, key in SPREAD_SHOWN
        )
        lines.append(f"{step['rate']:>7g}  {shown}")
    return lines


AGREEMENT_COLUMNS = (
    f"{'rate':>7} {'requests':>9}  {'e2e p50':>11}  {'e2e p99':>11}  {'ttft p50':>11}  "
    f"{'ttft p99':>11}  {'out tokens':>11}  {'token mism.':>11}"
)


def format_agreement(steps: list[Mapping[str, Any]]) -> list[str]:
    """Client vs the gateway's own /metrics per rate (`load_tests.server_metrics`)."""
    served = [step for step in steps if step.get("server") is not None]
    if not served:
        return []
    lines = [
        "client / server (the gateway's /metrics over each step: histogram buckets, "
        "interpolated; its TTFT starts at the engine call, its E2E at the request's arrival)",
        AGREEMENT_COLUMNS,
    ]
    for step in sorted(served, key=lambda step: step["rate"]):
        server = step["server"]
        if "error" in server:
            lines.append(f"{step['rate']:>7g} no server figures: {server['error']}")
            continue
        client_tokens = step["output_len"]["received_mean"]
        answered = step["requests"] - step["failures"]
        tokens = "-" if client_tokens is None else f"{client_tokens * answered:.0f}"
        pairs = [
            f"{_num(step[key][p])}/{_num(server[key][p])}"
            for key, p in (("e2e_ms", "p50"), ("e2e_ms", "p99"), ("ttft_ms", "p50"),
                           ("ttft_ms", "p99"))
        ]  # fmt: skip
        lines.append(
            f"{step['rate']:>7g} {str(step['requests']) + '/' + str(server['requests']):>9}  "
            + "  ".join(f"{pair:>11}" for pair in pairs)
            + f"  {tokens + '/' + str(server['output_tokens']):>11}"
            + f"  {step['token_count_mismatches']:>11}"
        )
    return lines


def _objectives(objectives: Mapping[str, float]) -> str:
    limits = [
        f"{name.removesuffix('_ms')} <= {limit:g} ms"
        for name, limit in objectives.items()
        if name != "min_attainment"
    ]
    share = objectives["min_attainment"]
    if not limits:
        return f"objectives: none set (a rate meets them when {share:.0%} of requests succeed)"
    return f"objectives: {', '.join(limits)}; a rate meets them when {share:.0%} of requests do"


def _row(step: Mapping[str, Any]) -> str:
    error_rate = step["error_rate"]
    return (
        f"{step['rate']:>7g} {step['offered_per_s']:>7.2f} {step['achieved_per_s']:>8.2f} "
        f"{step['goodput_per_s']:>7.2f} {step['output_tokens_per_s']:>7.1f}  "
        f"{_three(step['e2e_ms'], ('p50', 'p90', 'p99')):>17}  "
        f"{_three(step['ttft_ms'], ('p50', 'p90', 'p99')):>17}  "
        f"{_three(step['tpot_ms'], ('p50', 'p99')):>12}  "
        f"{_three(step['itl_ms'], ('p50', 'p99')):>11} "
        f"{_asked_got(step.get('output_len')):>13} "
        f"{'-' if error_rate is None else f'{error_rate * 100:.1f}':>5} {step['timeouts']:>4} "
        f"{step['attainment']['all'] * 100:>5.0f}% {_num(step['send_lateness_ms']['p99']):>6} "
        f"{_num(step['client_cpu_percent']):>5}  {'yes' if step['met_objectives'] else 'no'}"
    )


def _client_warnings(steps: list[Mapping[str, Any]]) -> list[str]:
    busy = [
        step["rate"]
        for step in steps
        if (step["client_cpu_percent"] or 0) > BUSY_CLIENT_CPU
        or (step["send_lateness_ms"]["p99"] or 0) > LATE_CLIENT_MS
    ]
    if not busy:
        return []
    rates = ", ".join(f"{rate:g}" for rate in sorted(busy))
    return [
        f"client: busy or late at {rates} req/s (CPU > {BUSY_CLIENT_CPU:.0f} % or p99 send "
        f"lateness > {LATE_CLIENT_MS:.0f} ms): those figures may be the client's limit"
    ]


def _asked_got(output_len: Mapping[str, float | None] | None) -> str:
    """Mean output tokens asked for / received ("-" where not asked: the profile's)."""
    if not output_len:
        return "-"
    return f"{_num(output_len['requested_mean'])}/{_num(output_len['received_mean'])}"


def _three(percentiles: Mapping[str, float | None], keys: tuple[str, ...]) -> str:
    return "/".join(_num(percentiles[key]) for key in keys)


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"
