"""Rotation like RotatingFileHandler: name → name.1 → name.2, at most backup_count kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api_server.interceptors.rotation import RotatingJsonlFile


def write(file: RotatingJsonlFile, count: int) -> None:
    for n in range(count):
        file.write_line(json.dumps({"n": n, "pad": "x" * 40}).encode())


def test_files_rotate_and_only_backup_count_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "messages.jsonl"
    file = RotatingJsonlFile(path, max_bytes=200, backup_count=2)
    write(file, 40)
    file.close()
    names = sorted(p.name for p in path.parent.iterdir())
    assert names == ["messages.jsonl", "messages.jsonl.1", "messages.jsonl.2"]
    kept: list[int] = []
    for name in ["messages.jsonl.2", "messages.jsonl.1", "messages.jsonl"]:
        data = (path.parent / name).read_bytes()
        assert len(data) <= 200
        kept += [json.loads(line)["n"] for line in data.splitlines()]
    assert kept == list(range(40 - len(kept), 40))  # the newest lines, in order


def test_no_backups_restarts_the_file(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    file = RotatingJsonlFile(path, max_bytes=200, backup_count=0)
    write(file, 10)
    file.close()
    assert [p.name for p in tmp_path.iterdir()] == ["messages.jsonl"]
    assert path.stat().st_size <= 200


def test_a_line_longer_than_max_bytes_gets_a_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    file = RotatingJsonlFile(path, max_bytes=10, backup_count=3)
    for n in range(3):
        file.write_line(json.dumps({"n": n, "long": "y" * 20}).encode())
    file.close()
    assert json.loads(path.read_text())["n"] == 2
    assert json.loads(file.backup(1).read_text())["n"] == 1


@pytest.mark.parametrize("existing", [0, 150])
def test_appends_to_an_existing_file(tmp_path: Path, existing: int) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_bytes(b"x" * existing + (b"\n" if existing else b""))
    file = RotatingJsonlFile(path, max_bytes=200, backup_count=1)
    file.write_line(b'{"n": 1, "pad": "' + b"z" * 60 + b'"}')
    file.close()
    assert file.backup(1).exists() == (existing > 0)
