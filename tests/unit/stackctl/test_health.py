import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stackctl.errors import StackError
from stackctl.health import probe, probe_tcp


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = {"/health": 200, "/loading": 503}.get(self.path, 404)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_http_200_is_healthy(server: str) -> None:
    health = probe(f"{server}/health", timeout=2)
    assert health.ok
    assert health.detail == "HTTP 200"


def test_http_503_while_loading_is_not_healthy(server: str) -> None:
    health = probe(f"{server}/loading", timeout=2)
    assert not health.ok
    assert health.detail == "HTTP 503"


def test_refused_connection_is_not_healthy() -> None:
    health = probe(f"http://127.0.0.1:{closed_port()}/health", timeout=2)
    assert not health.ok
    assert health.detail == "Connection refused"


def test_tcp_probe(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    assert probe(f"tcp://127.0.0.1:{port}", timeout=2).ok
    assert not probe_tcp(f"tcp://127.0.0.1:{closed_port()}", timeout=2).ok
    assert not probe_tcp("tcp://no-port", timeout=2).ok


def test_unknown_scheme_is_a_config_error() -> None:
    with pytest.raises(StackError, match="no health probe for 'redis://"):
        probe("redis://127.0.0.1:6379", timeout=1)
