"""NativeStack's own choices, before anything starts."""

from __future__ import annotations

from pathlib import Path

from stackctl.api import NativeStack


def test_free_ports_move_second_ports_too(tmp_path: Path) -> None:
    """A var named *_port (MAX Serve's metrics port) gets a free port like the service's
    own, so two stacks side by side share none; the gateway is told where it went."""
    stack = NativeStack(tmp_path, free_ports=True, environ={}, profiles=["max"])
    gateway = stack.env("gateway")
    metrics_port = int(gateway["MAX_METRICS_URL"].rsplit(":", 1)[1].split("/")[0])
    assert metrics_port not in (8003, stack.port("max"))
    assert gateway["MAX_URL"] == f"http://127.0.0.1:{stack.port('max')}"


def test_free_ports_replace_a_second_port_from_another_stack(tmp_path: Path) -> None:
    first = NativeStack(tmp_path / "a", free_ports=True, environ={}, profiles=["max"])
    second = NativeStack(
        tmp_path / "b", free_ports=True, environ=first.stack.environ, profiles=["max"]
    )
    assert first.env("gateway")["MAX_METRICS_URL"] != second.env("gateway")["MAX_METRICS_URL"]
