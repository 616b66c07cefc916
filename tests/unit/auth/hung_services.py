"""Real sockets that accept and then never answer: a PostgreSQL that hangs (silent from the
start, or after a correct handshake, as a stopped server's kernel or a wedged backend would)
and an identity provider whose JWKS URL serves keys or hangs. Threads, so that both an
in-test event loop and a TestClient's app can reach them."""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

SSL_REQUEST = 80877103
CANCEL_REQUEST = 80877102


def _message(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("!i", 4 + len(payload)) + payload


def _handshake() -> bytes:
    """What a PostgreSQL sends after a startup message: trust auth, parameters, ready."""
    parameters = b"".join(
        _message(b"S", f"{name}\0{value}\0".encode())
        for name, value in [
            ("server_version", "16.0"),
            ("client_encoding", "UTF8"),
            ("integer_datetimes", "on"),
            ("standard_conforming_strings", "on"),
            ("DateStyle", "ISO, MDY"),
        ]
    )
    return (
        _message(b"R", struct.pack("!i", 0))
        + parameters
        + _message(b"K", struct.pack("!ii", 4242, 7))
        + _message(b"Z", b"I")
    )


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        piece = conn.recv(size - len(data))
        if not piece:
            raise ConnectionError("closed")
        data += piece
    return data


class HungPostgres:
    """`silent`: accepts and reads, never a byte back. `after_startup`: completes the
    handshake, then never answers a query. CancelRequests are read and closed (as a real
    server does), so a client's cancel does not hang too."""

    def __init__(self, mode: Literal["silent", "after_startup"]) -> None:
        self.mode = mode
        self.connections = 0
        self.startups = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn: socket.socket = self.request
                with owner._lock:
                    owner.connections += 1
                with contextlib.suppress(ConnectionError, OSError):  # the client went away
                    owner._serve(conn)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.dsn = f"postgresql://u:p@127.0.0.1:{self.port}/db"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        if self.mode == "after_startup":
            while True:
                length, code = struct.unpack("!ii", self._recv(conn, 8))
                if code == SSL_REQUEST:
                    conn.sendall(b"N")
                    continue
                self._recv(conn, length - 8)
                if code == CANCEL_REQUEST:
                    return
                break
            with self._lock:
                self.startups += 1
            conn.sendall(_handshake())
        while not self._release.is_set():  # read whatever comes, answer nothing
            try:
                if not conn.recv(65536):
                    return
            except TimeoutError:
                continue

    def _recv(self, conn: socket.socket, size: int) -> bytes:
        while True:
            try:
                return _read_exactly(conn, size)
            except TimeoutError:
                if self._release.is_set():
                    raise ConnectionError("released") from None

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


class IdentityProvider:
    """A JWKS URL: serves `jwks`, or (`hang` set) accepts a request and never answers."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.requests = 0
        self._lock = threading.Lock()
        self.hang = threading.Event()
        self._release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with owner._lock:
                    owner.requests += 1
                if owner.hang.is_set():
                    owner._release.wait()
                    return
                body = json.dumps(owner.jwks).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/jwks.json"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
