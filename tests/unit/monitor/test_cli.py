from __future__ import annotations

import socket

import pytest

from monitor.cli import EXIT_UNREACHABLE, main


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_once_against_a_closed_port_says_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    assert main(["--url", url, "--once", "--interval", "0.05", "--no-color"]) == EXIT_UNREACHABLE
    out = capsys.readouterr().out
    assert f"gateway unreachable at {url} (retrying every 0.05s)" in out
    assert "refused" in out.lower()


def test_bad_arguments_exit_2() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--interval", "0"])
    assert exc.value.code == 2
