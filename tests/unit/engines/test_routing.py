"""The load-aware choice among a model's replicas."""

from __future__ import annotations

from api_server.engines.routing import RoutingSettings, choose, route_for


def test_the_preferred_replica_within_the_slack_else_the_least_busy() -> None:
    loads = [5.0, 2.0, 3.0]
    assert choose(loads, [0, 1, 2], preferred=0b100, slack=1) == (2, True)
    assert choose(loads, [0, 1, 2], preferred=0b001, slack=2) == (1, False)
    assert choose(loads, [0, 1, 2], preferred=0b001, slack=3) == (0, True)
    assert choose(loads, [0, 1, 2], preferred=0b101, slack=1) == (2, True)  # the less busy
    assert choose(loads, [0, 2], preferred=0b010, slack=10) == (2, False)  # not a candidate
    assert choose(loads, [0, 1, 2], preferred=0, slack=10) == (1, False)
    assert choose([1.0, 1.0], [0, 1], preferred=0, slack=0) == (0, False)


def test_a_route_names_the_prompts_blocks_and_the_tenants_session() -> None:
    settings = RoutingSettings(block_bytes=16)
    route = route_for("y" * 40, "key:1\nsession", settings)
    assert len(route.keys) == 2 and route.session is not None
    assert route_for("y" * 40, "key:2\nsession", settings).session != route.session
    assert route_for("y" * 40, None, settings).session is None
