import os
import socket
from collections.abc import Iterator

import pytest

from stackctl.ports import describe_taken_port, find_port_holder, listening_inodes, port_in_use


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_listening_port_is_in_use_on_loopback_and_all_interfaces(listener: int) -> None:
    assert port_in_use("127.0.0.1", listener)
    assert port_in_use("0.0.0.0", listener)


def test_a_free_port_is_not_in_use() -> None:
    assert not port_in_use("127.0.0.1", free_port())


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="needs Linux /proc")
def test_the_holder_of_a_port_is_this_process(listener: int) -> None:
    holder = find_port_holder(listener)
    assert holder is not None
    assert holder.pid == os.getpid()
    assert "python" in holder.command or "pytest" in holder.command
    assert f"port {listener} (127.0.0.1) is already in use (pid {os.getpid()}:" in (
        describe_taken_port("127.0.0.1", listener)
    )


def test_nobody_holds_a_free_port() -> None:
    assert find_port_holder(free_port()) is None


PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1
   1: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1
   2: 0100007F:1F90 0100007F:D2B4 01 00000000:00000000 00:00000000 00000000     0        0 333 1
"""


@pytest.mark.parametrize(("port", "inodes"), [(8080, {111}), (8000, {222}), (9999, set())])
def test_listening_inodes_reads_only_listening_sockets(port: int, inodes: set[int]) -> None:
    assert listening_inodes(PROC_NET_TCP, port) == inodes
