"""A typed client for supervisord's XML-RPC interface over its unix socket."""

from __future__ import annotations

import http.client
import socket
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackctl.errors import StackError

# Program states after which a start attempt has failed (supervisor.states.ProcessStates).
FAILED_STATES = frozenset({"BACKOFF", "EXITED", "FATAL", "STOPPED", "UNKNOWN"})


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self._path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__()
        self._path = path
        self._timeout = timeout

    def make_connection(self, host: object) -> http.client.HTTPConnection:
        # Registered as the transport's connection so Transport.close() (called on errors
        # and when the proxy closes) closes its socket too.
        connection = _UnixHTTPConnection(self._path, self._timeout)
        self._connection = (str(host), connection)
        return connection


@dataclass(frozen=True)
class ProgramStatus:
    name: str
    state: str  # RUNNING, STARTING, BACKOFF, STOPPED, EXITED, FATAL, ...
    pid: int
    description: str


class SupervisorClient:
    def __init__(self, socket_path: Path, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout

    def _call(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        proxy = xmlrpc.client.ServerProxy(
            "http://localhost", transport=_UnixTransport(self.socket_path, timeout or self.timeout)
        )
        with proxy:
            try:
                return getattr(proxy, method)(*args)
            except xmlrpc.client.Fault as exc:
                raise StackError(f"supervisord: {method} failed: {exc.faultString}") from exc

    def running(self) -> bool:
        """Whether supervisord answers on the socket."""
        try:
            state = self._call("supervisor.getState", timeout=2.0)
        except (OSError, xmlrpc.client.ProtocolError):
            return False
        return bool(state.get("statename") == "RUNNING")

    def pid(self) -> int:
        return int(self._call("supervisor.getPID"))

    def programs(self) -> dict[str, ProgramStatus]:
        return {info["name"]: _status(info) for info in self._call("supervisor.getAllProcessInfo")}

    def program(self, name: str) -> ProgramStatus:
        return _status(self._call("supervisor.getProcessInfo", name))

    def start(self, name: str) -> None:
        """Spawn without waiting: the caller watches the state and the health probe."""
        self._call("supervisor.startProcess", name, False)

    def stop(self, name: str, timeout: float = 30.0) -> None:
        self._call("supervisor.stopProcess", name, True, timeout=timeout)

    def stop_all(self, timeout: float = 60.0) -> None:
        """Stop every program, in reverse priority order (dependents first)."""
        self._call("supervisor.stopAllProcesses", True, timeout=timeout)

    def shutdown(self) -> None:
        self._call("supervisor.shutdown")


def _status(info: dict[str, Any]) -> ProgramStatus:
    return ProgramStatus(
        name=str(info["name"]),
        state=str(info["statename"]),
        pid=int(info["pid"]),
        description=str(info.get("description", "")),
    )
