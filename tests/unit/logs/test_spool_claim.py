"""Spool folders per process: live processes never share one, and whatever a stopped process
left is moved to the next one that starts, in order, to be replayed."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
from pathlib import Path

from api_server.logs.spool import RequestLogSpool
from api_server.logs.spool_claim import claim_spool_directory
from tests.unit.logs.test_spool import record


def _spill(spool_dir: Path, first: int, count: int) -> None:
    spool = RequestLogSpool(spool_dir, 1 << 20, segment_bytes=300)  # a few rows a segment
    spool.append([record(n) for n in range(first, first + count)])
    spool.close()


def _read_all(spool_dir: Path) -> list[str]:
    spool = RequestLogSpool(spool_dir, 1 << 20)
    ids = [r.id for path in spool.sealed_segments() for r in spool.read(path)[0]]
    spool.close()
    return ids


def test_live_claims_get_folders_of_their_own(tmp_path: Path) -> None:
    claims = [claim_spool_directory(tmp_path) for _ in range(3)]
    assert [c.directory for c in claims] == [
        tmp_path,
        tmp_path / "worker-1",
        tmp_path / "worker-2",
    ]
    claims[1].release()
    again = claim_spool_directory(tmp_path)  # the first free folder, not a fourth
    assert again.directory == tmp_path / "worker-1"
    for claim in (claims[0], claims[2], again):
        claim.release()


def test_segments_a_stopped_process_left_move_to_the_next_claim(tmp_path: Path) -> None:
    first, second = claim_spool_directory(tmp_path), claim_spool_directory(tmp_path)
    _spill(first.directory, 0, 10)
    _spill(second.directory, 100, 10)
    second.release()  # it stopped with rows in its folder
    _spill(first.directory, 10, 5)  # the first goes on
    third = claim_spool_directory(tmp_path)
    assert third.directory == tmp_path / "worker-1"  # the free folder; nothing to adopt
    assert _read_all(third.directory) == [f"req-{n}" for n in range(100, 110)]
    third.release()
    first.release()
    only = claim_spool_directory(tmp_path)  # one worker now: it takes the root, and the rest
    assert only.directory == tmp_path
    assert _read_all(tmp_path) == [f"req-{n}" for n in [*range(15), *range(100, 110)]]
    assert not list((tmp_path / "worker-1").glob("request_logs-*"))
    only.release()


def _hold_a_claim(root: str, ready: multiprocessing.synchronize.Event, stop: object) -> None:
    claim = claim_spool_directory(Path(root))
    _spill(claim.directory, 200, 3)
    ready.set()
    stop.wait()  # type: ignore[attr-defined]


def test_a_killed_process_frees_its_folder_and_leaves_its_rows(tmp_path: Path) -> None:
    mine = claim_spool_directory(tmp_path)
    spawn = multiprocessing.get_context("spawn")
    ready, stop = spawn.Event(), spawn.Event()
    holder = spawn.Process(target=_hold_a_claim, args=(str(tmp_path), ready, stop))
    holder.start()
    assert ready.wait(60)
    assert list((tmp_path / "worker-1").glob("request_logs-*"))  # the holder's rows
    beside = claim_spool_directory(tmp_path)
    assert beside.directory == tmp_path / "worker-2"  # the holder is alive
    beside.release()
    holder.kill()  # no clean exit: the kernel drops its lock
    holder.join(30)
    mine.release()
    next_start = claim_spool_directory(tmp_path)
    assert next_start.directory == tmp_path
    assert _read_all(tmp_path) == ["req-200", "req-201", "req-202"]
    next_start.release()
