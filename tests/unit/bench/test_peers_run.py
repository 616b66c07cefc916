"""bench.peers.run: its command line (no servers started)."""

from __future__ import annotations

import pytest

from bench.peers.run import parse_args


def test_unknown_paths_are_refused() -> None:
    assert parse_args(["--paths", "stream", "--concurrency", "1,64"]).concurrency == [1, 64]
    with pytest.raises(SystemExit):
        parse_args(["--paths", "stream,embeddings"])
