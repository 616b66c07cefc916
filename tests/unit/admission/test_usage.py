"""Virtual token counters: tokens served per tenant, a newcomer started level with the
tenants competing, and a tenant gone quiet forgotten."""

from __future__ import annotations

from api_server.admission.usage import ServiceCounters
from tests.unit.admission.clock import ManualClock


def test_tokens_add_up_per_tenant() -> None:
    counters = ServiceCounters(60, ManualClock(0.0))
    counters.charge("a", 10)
    counters.charge("a", 5)
    counters.charge("b", 7)
    assert (counters.of("a"), counters.of("b"), counters.of("nobody")) == (15, 7, 0)


def test_arriving_to_an_empty_queue_starts_level_with_the_tenant_admitted_last() -> None:
    counters = ServiceCounters(60, ManualClock(0.0))
    counters.charge("busy", 900)
    counters.admitted("busy")
    counters.arrive("new", waiting=())
    assert counters.of("new") == 900  # idle until now: no credit for it
    counters.charge("new", 5000)
    counters.arrive("new", waiting=())
    assert counters.of("new") == 5900  # never lowered


def test_arriving_beside_waiting_tenants_starts_level_with_the_least_of_them() -> None:
    counters = ServiceCounters(60, ManualClock(0.0))
    counters.charge("a", 400)
    counters.charge("b", 700)
    counters.charge("c", 100)
    counters.arrive("c", waiting=("a", "b", "c"))  # its own count is not a floor for it
    assert counters.of("c") == 400


def test_a_tenant_gone_quiet_is_forgotten_and_comes_back_level() -> None:
    clock = ManualClock(0.0)
    counters = ServiceCounters(60, clock)
    counters.charge("old", 5000)
    counters.charge("busy", 300)
    counters.admitted("busy")
    clock.now = 30
    counters.charge("busy", 100)
    assert counters.tenant_names() == {"old", "busy"}
    clock.now = 61  # "old" was last seen 61 s ago, "busy" 31 s ago
    assert counters.tenant_names() == {"busy"}
    counters.arrive("old", waiting=())
    assert counters.of("old") == 300  # level with the last admitted, its 5000 gone


def test_a_tenant_forgotten_while_its_request_ran_is_charged_from_the_level() -> None:
    clock = ManualClock(0.0)
    counters = ServiceCounters(60, clock)
    counters.charge("busy", 300)
    counters.admitted("busy")
    counters.arrive("slow", waiting=())
    clock.now = 100  # its request ran past the window
    counters.charge("slow", 50)
    assert counters.of("slow") == 350


def test_nothing_served_charges_nothing() -> None:
    counters = ServiceCounters(60, ManualClock(0.0))
    counters.charge("a", 0)
    counters.charge("a", -5)
    assert counters.of("a") == 0
