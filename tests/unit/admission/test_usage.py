"""Attained service: tokens per tenant over a sliding window, forgotten as they expire."""

from __future__ import annotations

from api_server.admission.usage import AttainedService
from tests.unit.admission.clock import ManualClock


def test_tokens_add_up_per_tenant_within_the_window() -> None:
    clock = ManualClock(0.0)
    usage = AttainedService(60, clock)
    usage.add("a", 10)
    clock.now = 30
    usage.add("a", 5)
    usage.add("b", 7)
    assert (usage.of("a"), usage.of("b"), usage.of("nobody")) == (15, 7, 0)


def test_charges_expire_one_by_one_as_the_window_slides() -> None:
    clock = ManualClock(0.0)
    usage = AttainedService(60, clock)
    usage.add("a", 10)
    clock.now = 30
    usage.add("a", 5)
    clock.now = 60  # the first charge is exactly a window old: gone
    assert usage.of("a") == 5
    clock.now = 90
    assert usage.of("a") == 0


def test_a_tenant_gone_quiet_leaves_nothing_behind() -> None:
    clock = ManualClock(0.0)
    usage = AttainedService(60, clock)
    for tenant in ("a", "b", "c"):
        usage.add(tenant, 1)
    assert usage.tenants() == 3
    clock.now = 61
    usage.add("d", 1)  # any use expires every tenant's old charges, read or not
    assert usage.tenants() == 1


def test_nothing_served_charges_nothing() -> None:
    usage = AttainedService(60, ManualClock(0.0))
    usage.add("a", 0)
    assert usage.tenants() == 0
