"""Is a port free, and if not, which process holds it (read from /proc on Linux)."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from pathlib import Path

_TCP_LISTEN = "0A"


@dataclass(frozen=True)
class PortHolder:
    pid: int
    command: str


def port_in_use(host: str, port: int) -> bool:
    """True when binding host:port fails because something already holds it.

    SO_REUSEADDR, as servers set it, so sockets lingering in TIME_WAIT do not count.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def listening_inodes(proc_net_tcp: str, port: int) -> set[int]:
    """Socket inodes listening on `port`, from the text of /proc/net/tcp or tcp6."""
    inodes: set[int] = set()
    for line in proc_net_tcp.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != _TCP_LISTEN:
            continue
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port:
            inodes.add(int(fields[9]))
    return inodes


def command_line(pid: int, proc: Path = Path("/proc")) -> str:
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def find_port_holder(port: int, proc: Path = Path("/proc")) -> PortHolder | None:
    """The process listening on a TCP port, or None when it cannot be found out."""
    inodes: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            inodes |= listening_inodes((proc / "net" / table).read_text(), port)
        except OSError:
            continue
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            fds = list((pid_dir / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if fd.readlink().as_posix() in targets:
                    pid = int(pid_dir.name)
                    return PortHolder(pid, command_line(pid, proc))
            except OSError:
                continue
    return None


def describe_taken_port(host: str, port: int) -> str:
    holder = find_port_holder(port)
    who = f"pid {holder.pid}: {holder.command}" if holder else "process not found"
    return f"port {port} ({host}) is already in use ({who})"
