from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from monitor.scrape import GatewayScraper, ScrapeError
from tests.unit.monitor.gateway_texts import gateway_text, readiness_body

# path -> (status, body); each test sets what the fake gateway answers.
ROUTES: dict[str, tuple[int, bytes]] = {}


class FakeGateway(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = ROUTES.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ROUTES.clear()
    ROUTES["/metrics"] = (200, gateway_text(traffic=True).encode())
    ROUTES["/health/ready"] = (
        503,
        json.dumps({**readiness_body(), "status": "not_ready"}).encode(),
    )
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_scrape_reads_metrics_and_a_503_readiness(gateway: str) -> None:
    result = GatewayScraper(gateway, clock=lambda: 42.0).scrape()
    assert result.snapshot.time == 42.0
    assert result.snapshot.has("inferstack_requests_total")
    assert result.readiness is not None and result.readiness.status == "not_ready"
    assert result.health_error is None


def test_health_that_is_not_json_is_reported_not_raised(gateway: str) -> None:
    ROUTES["/health/ready"] = (200, b"<html>")
    result = GatewayScraper(gateway).scrape()
    assert result.readiness is None
    assert result.health_error is not None and result.health_error.startswith("/health/ready")


@pytest.mark.parametrize(
    ("route", "message"),
    [((500, b"boom"), "GET /metrics answered HTTP 500"), ((200, b"not metrics"), "unreadable")],
)
def test_bad_metrics_raise_scrape_error(
    gateway: str, route: tuple[int, bytes], message: str
) -> None:
    ROUTES["/metrics"] = route
    with pytest.raises(ScrapeError, match=message):
        GatewayScraper(gateway).scrape()
