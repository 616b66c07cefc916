from __future__ import annotations

from typing import Any

import pytest

from monitor.health import Check, parse_readiness
from tests.unit.monitor.gateway_texts import DOWN_ENGINE, ECHO_ENGINE, readiness_body


def test_engines_and_components_are_read() -> None:
    readiness = parse_readiness(readiness_body())
    assert readiness.status == "degraded"
    assert readiness.engines[("fake-echo", ECHO_ENGINE)] == Check("up", 1.25, breaker="closed")
    assert readiness.engines[("engine-down", DOWN_ENGINE)] == Check("down", None, breaker="open")
    assert readiness.components["postgres"] == Check("down", 3.0, "connection refused")


@pytest.mark.parametrize(
    "body",
    [None, [], "ready", {"models": "x", "components": [1]}, {"models": {"m": 3}}],
)
def test_odd_bodies_never_raise(body: Any) -> None:
    readiness = parse_readiness(body)
    assert readiness.engines == {}
    assert readiness.components == {}


def test_odd_entries_keep_what_they_say() -> None:
    readiness = parse_readiness({"status": "ready", "components": {"redis": "up"}})
    assert readiness.components["redis"] == Check("up")
