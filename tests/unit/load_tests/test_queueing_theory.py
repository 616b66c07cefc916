"""The load tester against a gateway of known capacity: c = 4 slots, each request served in
a fixed S = 0.5 s, so the gateway completes at most c/S = 8 requests/s.

- An open-loop auto sweep (seeded Poisson arrivals, objective E2E <= 3S: a request may wait
  2S for a slot) must put its max goodput rate near c/S. Theory for this M/D/4 queue: below
  about 0.8 c/S hardly one request in a hundred waits 2S, so 90 % meet the objective; past
  c/S the queue grows by (rate - c/S) requests a second and the wait with it, which in the
  short steps here (1 s warm-up, 3 s measured) pushes the last tenth of a step's requests
  past 2S from about 1.25 c/S on. Hence [0.6, 1.3] x c/S. A closed loop posing as open
  (each request waiting for the one before) would never fail the objective and double to
  its cap; one that dropped slow answers would never see latency grow.
- A closed-loop run with more users than slots is limited to c/S whatever the users, and
  its latency is users x S / c.

Each run is a real `python -m load_tests run` subprocess; the figures depend on time only
through the gateway's service time, with tolerances from the theory, not this machine: S is
long enough, and the objective loose enough, that a loaded machine's delays of a few hundred
milliseconds move no verdict.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.load_tests.slotted_gateway import SlottedGateway, running_gateway

REPO = Path(__file__).resolve().parents[3]
SLOTS, SERVICE_S = 4, 0.5
CAPACITY = SLOTS / SERVICE_S  # 8 requests/s
PROFILE = f"""profiles:
  theory:
    max_tokens: 4
    thresholds: {{error_rate: 0.001}}
    objectives: {{e2e_ms: {3 * SERVICE_S * 1000:g}}}
"""


@pytest.fixture(scope="module")
def gateway() -> Iterator[SlottedGateway]:
    with running_gateway(SLOTS, SERVICE_S) as gateway:
        yield gateway


def load_test(gateway: SlottedGateway, report_dir: Path, *options: str) -> dict[str, object]:
    config = report_dir.parent / "theory.yaml"
    config.write_text(PROFILE)
    argv = [
        sys.executable, "-m", "load_tests", "run", "--host", gateway.url, "--model", "m",
        "--scenario", "stream", "--profile", "theory", "--config", str(config),
        "--no-screenshot", "--report-dir", str(report_dir), *options,
    ]  # fmt: skip
    run = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (report_dir / "summary.txt").read_text() in run.stdout
    report: dict[str, object] = json.loads((report_dir / "report.json").read_text())
    report["stdout"] = run.stdout
    return report


def test_an_open_loop_sweep_finds_the_knee_near_capacity(
    gateway: SlottedGateway, tmp_path: Path
) -> None:
    report = load_test(
        gateway, tmp_path / "sweep", "--sweep", "auto", "--sweep-start", "2",
        "--duration", "3s", "--warmup", "1", "--seed", "0",
    )  # fmt: skip
    sweep = report["sweep"]
    assert isinstance(sweep, dict)
    steps = sorted(sweep["steps"], key=lambda step: step["rate"])
    rates = [step["rate"] for step in steps]
    assert gateway.most_in_service == SLOTS  # the gateway was full, never over
    # The rate its schedule really sent: a few seconds of Poisson arrivals stray by a
    # quarter from the nominal rate, and the queue sees what was sent.
    (best,) = (step for step in steps if step["rate"] == sweep["max_goodput_rate"])
    offered = [step["offered_per_s"] for step in steps]
    assert 0.6 * CAPACITY <= best["offered_per_s"] <= 1.3 * CAPACITY, (rates, offered)
    # Doubling from 2 must have gone past capacity, and the heaviest step shows it: the
    # gateway delivers at most c/S, and its latency grows far past the lightest step's.
    lightest, heaviest = steps[0], steps[-1]
    assert heaviest["rate"] >= 1.5 * CAPACITY
    assert heaviest["achieved_per_s"] <= 1.1 * CAPACITY
    assert heaviest["e2e_ms"]["p50"] > 2 * lightest["e2e_ms"]["p50"]
    assert heaviest["met_objectives"] is False
    # Below the knee the gateway keeps up with what was offered: every request answered in
    # about S. (Its achieved rate is no measure in a 3 s window: the answers still in flight
    # when the window closes are a sizeable share of a few requests.)
    assert lightest["failures"] == 0 and lightest["attainment"]["all"] == 1.0
    assert lightest["e2e_ms"]["p50"] == pytest.approx(SERVICE_S * 1000, rel=0.25)
    assert sweep["saturation"] is not None
    assert sweep["saturation"]["rate"] > sweep["max_goodput_rate"] * 0.9
    # Each request was sent on its schedule: the client was not the limit.
    assert all(step["send_lateness_ms"]["p99"] < SERVICE_S * 1000 / 2 for step in steps)
    assert all(step["client_cpu_percent"] is not None for step in steps)
    # Per-request samples for charts, and the terminal's progress and table.
    assert heaviest["samples"]["of"] == heaviest["requests"] == len(heaviest["samples"]["rows"])
    stdout = str(report["stdout"])
    assert "step 1/≤14 · 2 req/s · " in stdout
    assert f"max goodput rate: {sweep['max_goodput_rate']:g} req/s" in stdout


def test_a_closed_loop_levels_off_at_capacity(gateway: SlottedGateway, tmp_path: Path) -> None:
    users = 3 * SLOTS
    report = load_test(
        gateway, tmp_path / "closed", "--users", str(users), "--spawn-rate", "100",
        "--think-time", "0", "--duration", "6s",
    )  # fmt: skip
    overall = report["overall"]
    assert isinstance(overall, dict)
    assert "sweep" not in report
    assert 0.8 * CAPACITY <= overall["requests_per_s"] <= 1.05 * CAPACITY
    # Little's law: users = throughput x latency, so each request takes users/c x S.
    expected_ms = users / SLOTS * SERVICE_S * 1000
    assert overall["latency_ms"]["p50"] == pytest.approx(expected_ms, rel=0.2)
