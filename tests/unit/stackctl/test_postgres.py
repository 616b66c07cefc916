import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stackctl.binaries import postgres_bin_dir
from stackctl.errors import StackError
from stackctl.health import Health, probe
from stackctl.postgres import PASSWORD_ENV, ensure_initialized, postgres_argv, psql_argv

ROOT = Path(__file__).resolve().parents[3]
INIT_SQL = ROOT / "init-scripts" / "postgres" / "init.sql"
BIN = Path(postgres_bin_dir())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_postgres_listens_on_tcp_only() -> None:
    argv = postgres_argv(BIN, Path("/s/data"), "127.0.0.1", 5433)
    assert argv[0] == str(BIN / "postgres")
    assert argv[1:] == ["-D", "/s/data", "-h", "127.0.0.1", "-p", "5433",
                        "-c", "unix_socket_directories="]  # fmt: skip


@pytest.mark.parametrize(
    ("listen", "connect"), [("0.0.0.0", "127.0.0.1"), ("::", "::1"), ("10.0.0.2", "10.0.0.2")]
)
def test_psql_reaches_a_wildcard_listener_on_loopback(listen: str, connect: str) -> None:
    argv = psql_argv(BIN, listen, 5432, "u", "d")
    assert argv[argv.index("--host") + 1] == connect
    assert "ON_ERROR_STOP=1" in argv


def test_a_data_folder_with_foreign_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("mine")
    with pytest.raises(StackError, match="holds no PostgreSQL cluster"):
        ensure_initialized(BIN, tmp_path / "data", "u", "pw")


class Server:
    def __init__(self, data_dir: Path, port: int, log: Path) -> None:
        self.port = port
        self.log = log
        env = {**os.environ, PASSWORD_ENV: "pw'with quote"}
        argv = [sys.executable, "-m", "stackctl.postgres", "serve", "--data-dir", str(data_dir),
                "--port", str(port), "--user", "app"]  # fmt: skip
        with log.open("ab") as out:
            self.proc = subprocess.Popen(argv, env=env, stdout=out, stderr=out, cwd=ROOT)
        deadline = time.monotonic() + 60
        url = f"postgres://app@127.0.0.1:{port}/app"
        while not probe(url, timeout=1).ok:
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)

    def setup(self, *sql: Path) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "stackctl.postgres", "setup", "--port", str(self.port),
                "--user", "app", "--database", "app", *map(str, sql)]  # fmt: skip
        env = {**os.environ, PASSWORD_ENV: "pw'with quote"}
        return subprocess.run(argv, env=env, capture_output=True, text=True, cwd=ROOT)

    def query(self, sql: str) -> str:
        argv = [*psql_argv(BIN, "127.0.0.1", self.port, "app", "app"), "-tA", "-c", sql]
        env = {**os.environ, "PGPASSWORD": "pw'with quote"}
        return subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)  # fast shutdown, as supervisord stops it
        self.proc.wait(timeout=30)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "pg" / "data"


def test_serve_initializes_once_and_setup_applies_the_schema_idempotently(
    tmp_path: Path, data_dir: Path
) -> None:
    # A scratch folder left by an interrupted first start is thrown away and redone.
    (data_dir.parent / "data.initdb").mkdir(parents=True)
    (data_dir.parent / "data.initdb" / "PG_VERSION").write_text("half")
    log = tmp_path / "postgres.log"
    server = Server(data_dir, free_port(), log)
    try:
        for _ in range(2):
            result = server.setup(INIT_SQL)
            assert result.returncode == 0, result.stderr
            assert result.stderr == ""  # no "already exists, skipping" notices
        assert (
            server.query("SELECT version FROM schema_migrations ORDER BY 1") == "1\n2\n3\n4\n5\n6\n"
        )
        tables = server.query("SELECT string_agg(tablename, ',' ORDER BY tablename) "
                              "FROM pg_tables WHERE schemaname = 'public'")  # fmt: skip
        assert tables == (
            "api_keys,batch_lines,batches,files,request_logs,responses,schema_migrations\n"
        )
        server.query("INSERT INTO api_keys (name, prefix, key_hash) VALUES ('k', 'sk-1', 'h')")
    finally:
        server.stop()
    assert log.read_text().count("initializing a new PostgreSQL cluster") == 1
    assert not (data_dir.parent / "data.initdb").exists()
    assert not (data_dir.parent / ".initdb-password").exists()

    server = Server(data_dir, free_port(), log)  # a second start keeps the data
    try:
        assert server.query("SELECT name FROM api_keys") == "k\n"
    finally:
        server.stop()
    assert log.read_text().count("initializing a new PostgreSQL cluster") == 1


def test_setup_reports_a_failing_script(tmp_path: Path, data_dir: Path) -> None:
    bad = tmp_path / "bad.sql"
    bad.write_text("CREATE TABLE t (id int);\nSELECT * FROM missing_table;\n")
    server = Server(data_dir, free_port(), tmp_path / "postgres.log")
    try:
        result = server.setup(bad)
    finally:
        server.stop()
    assert result.returncode == 1
    assert 'relation "missing_table" does not exist' in result.stderr
    assert "error: psql failed (exit 3)" in result.stderr


def test_health_of_a_stopped_server() -> None:
    assert probe(f"postgres://app@127.0.0.1:{free_port()}/app", timeout=1) == Health(
        False, "Connection refused"
    )
