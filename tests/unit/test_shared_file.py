"""`SharedAppendFile`: rotation like RotatingFileHandler (name → name.1 → name.2, at most
backup_count kept), a cap that refuses lines, and several processes writing one file at
once without losing, tearing or misplacing a line."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from api_server.shared_file import SharedAppendFile


def line(n: int, writer: int = 0) -> bytes:
    return json.dumps({"w": writer, "n": n, "pad": "x" * 40}).encode() + b"\n"


def write(file: SharedAppendFile, count: int) -> None:
    for n in range(count):
        file.append(line(n))


def test_files_rotate_and_only_backup_count_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "messages.jsonl"
    file = SharedAppendFile(path, max_bytes=200, backup_count=2)
    write(file, 40)
    file.close()
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["messages.jsonl", "messages.jsonl.1", "messages.jsonl.2"]
    kept: list[int] = []
    for name in ["messages.jsonl.2", "messages.jsonl.1", "messages.jsonl"]:
        data = (path.parent / name).read_bytes()
        assert len(data) <= 200
        kept += [json.loads(entry)["n"] for entry in data.splitlines()]
    assert kept == list(range(40 - len(kept), 40))  # the newest lines, in order


def test_no_backups_restarts_the_file(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    file = SharedAppendFile(path, max_bytes=200, backup_count=0)
    write(file, 10)
    file.close()
    assert [p.name for p in tmp_path.iterdir()] == ["messages.jsonl"]
    assert path.stat().st_size <= 200


def test_a_line_longer_than_max_bytes_gets_a_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    file = SharedAppendFile(path, max_bytes=10, backup_count=3)
    for n in range(3):
        file.append(json.dumps({"n": n, "long": "y" * 20}).encode() + b"\n")
    file.close()
    assert json.loads(path.read_text())["n"] == 2
    assert json.loads(file.backup(1).read_text())["n"] == 1


@pytest.mark.parametrize("existing", [0, 150])
def test_appends_to_an_existing_file(tmp_path: Path, existing: int) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_bytes(b"x" * existing + (b"\n" if existing else b""))
    file = SharedAppendFile(path, max_bytes=200, backup_count=1)
    file.append(b'{"n": 1, "pad": "' + b"z" * 60 + b'"}\n')
    file.close()
    assert file.backup(1).exists() == (existing > 0)


def test_without_backups_a_full_file_refuses_lines(tmp_path: Path) -> None:
    path = tmp_path / "recording.jsonl"
    file = SharedAppendFile(path, max_bytes=2 * len(line(0)))
    assert [file.append(line(n)) for n in range(4)] == [True, True, False, False]
    assert not file.append(b"y" * 1000)  # too long even for an empty file: refused too
    file.close()
    assert path.read_bytes() == line(0) + line(1)
    assert [p.name for p in tmp_path.iterdir()] == ["recording.jsonl"]


def test_a_file_rolled_over_by_another_writer_is_reopened(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    first = SharedAppendFile(path, max_bytes=3 * len(line(0)), backup_count=5)
    second = SharedAppendFile(path, max_bytes=3 * len(line(0)), backup_count=5)
    first.append(line(0))
    second.append(line(1))
    first.append(line(2))
    second.append(line(3))  # rolls over: the first's open file is now messages.jsonl.1
    first.append(line(4))  # into the new file, not the backup
    first.close()
    second.close()
    assert path.read_bytes() == line(3) + line(4)
    assert first.backup(1).read_bytes() == line(0) + line(1) + line(2)


def _write_lines(path: str, writer: int, count: int) -> None:
    file = SharedAppendFile(Path(path), max_bytes=4096, backup_count=1000)
    for n in range(count):
        file.append(line(n, writer))
    file.close()


def test_processes_writing_at_once_lose_tear_and_misplace_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    writers, count = 4, 1000
    spawn = multiprocessing.get_context("spawn")
    processes = [
        spawn.Process(target=_write_lines, args=(str(path), w, count)) for w in range(writers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0

    def age(file: Path) -> int:  # shared.jsonl.N is N files older than shared.jsonl
        return int(file.suffix[1:]) if file.suffix[1:].isdigit() else 0

    files = sorted(tmp_path.iterdir(), key=age, reverse=True)  # oldest first
    assert len(files) > 10  # it did roll over, many times
    seen: dict[int, list[int]] = {w: [] for w in range(writers)}
    for file in files:
        data = file.read_bytes()
        assert len(data) <= 4096
        for entry in data.splitlines():
            record = json.loads(entry)  # a torn or interleaved line would not parse
            seen[record["w"]].append(record["n"])
    # Every line of every writer, each writer's in its own order across the backups.
    assert seen == {w: list(range(count)) for w in range(writers)}
