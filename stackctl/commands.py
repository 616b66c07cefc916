"""The stack commands: start, stop, status, logs, restart."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from stackctl.errors import StackError
from stackctl.health import Health, probe
from stackctl.paths import STATE_DIR_ENV
from stackctl.ports import describe_taken_port, port_in_use
from stackctl.processes import OWNER_ENV, owned_processes, tail_lines, terminate, wait_gone
from stackctl.secrets import redacted
from stackctl.spec import ServiceSpec
from stackctl.stack import Stack, port_env_name
from stackctl.supervisor_rpc import FAILED_STATES

__all__ = ["Stack", "logs", "restart", "start", "status", "stop"]

LOG_TAIL_LINES = 20
_MAX_UNIX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on macOS
_UP_STATES = frozenset({"RUNNING", "STARTING"})
# States supervisord accepts stopProcess in (BACKOFF: between automatic restarts).
_STOPPABLE_STATES = frozenset({"RUNNING", "STARTING", "BACKOFF"})


# -- start ----------------------------------------------------------------------------------


def start(stack: Stack) -> int:
    client = stack.supervisor
    conf = stack.supervisord_conf()
    if not client.running():
        _launch_supervisord(stack, conf)
    elif stack.paths.conf.exists() and stack.paths.conf.read_text() == conf:
        print(f"stack already running (supervisord pid {client.pid()}); checking health")
    else:
        print("the configuration changed since the stack started; restarting it")
        stop(stack)
        _launch_supervisord(stack, conf)
    for service in stack.services:
        if not _bring_up(stack, service):
            return 1
    _print_ready(stack)
    return 0


def _launch_supervisord(stack: Stack, conf: str) -> None:
    leftovers = owned_processes(stack.owner)
    if leftovers:
        print(f"ending {len(leftovers)} process(es) left over from an earlier run:")
        for proc in leftovers:
            print(f"  pid {proc.pid}: {proc.command}")
        terminate(proc.pid for proc in leftovers)
    for service in stack.services:
        _check_required_files(stack, service)
        _check_port_free(service)
    paths = stack.paths
    if len(str(paths.socket)) > _MAX_UNIX_SOCKET_PATH:
        raise StackError(
            f"state folder path too long for a unix socket ({paths.socket}); "
            f"set {STATE_DIR_ENV} to a shorter folder"
        )
    paths.logs_dir.mkdir(parents=True, exist_ok=True)
    paths.run_dir.mkdir(parents=True, exist_ok=True)
    # The file holds service environments (the database password): owner-only.
    paths.conf.touch(mode=0o600)
    paths.conf.chmod(0o600)
    paths.conf.write_text(conf)
    # supervisord daemonizes itself: this returns once the daemon has forked off.
    result = subprocess.run(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(paths.conf)],
        env={**stack.environ, OWNER_ENV: stack.owner},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError(
            f"supervisord failed to start (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()}\nsee {paths.supervisord_log}"
        )
    deadline = time.monotonic() + 10
    while not stack.supervisor.running():
        if time.monotonic() > deadline:
            raise StackError(f"supervisord did not come up; see {paths.supervisord_log}")
        time.sleep(0.1)


def _check_required_files(stack: Stack, service: ServiceSpec) -> None:
    for required in service.requires:
        path = stack.root / stack.expand(service, required.path, "requires")
        if not path.exists():
            hint = f"; run `{required.hint}`" if required.hint else ""
            raise StackError(f"{service.name}: {path} is missing{hint}")


def _check_port_free(service: ServiceSpec) -> None:
    if port_in_use(service.host, service.port):
        raise StackError(
            f"{service.name}: {describe_taken_port(service.host, service.port)}; stop that "
            f"process, or change {service.name}'s port in configs/stack.yaml "
            f"(or set {port_env_name(service.name)})"
        )


def _bring_up(stack: Stack, service: ServiceSpec) -> bool:
    """Start a service unless it runs, then wait until healthy; one progress line."""
    print(f"  {service.name:<8} ... ", end="", flush=True)
    began = time.monotonic()
    log = stack.paths.service_log(service.name)
    log_offset = log.stat().st_size if log.exists() else 0
    try:
        running = stack.supervisor.program(service.name).state in _UP_STATES
        if not running:
            _check_port_free(service)
            for folder in stack.dirs(service):
                folder.mkdir(parents=True, exist_ok=True)
            stack.supervisor.start(service.name)
        failure = _wait_healthy(stack, service)
        healthy_s = time.monotonic() - began
        if failure is None:
            failure = _run_after_start(stack, service)
    except StackError:
        print("failed")
        raise
    if failure is None:
        took = f"{healthy_s:.1f}s"
        if service.after_start:
            took += f", setup {time.monotonic() - began - healthy_s:.1f}s"
        print(f"healthy ({took})" if running else f"ready ({took})")
        return True
    print(f"failed: {failure}")
    print(f"  {service.name} log: {log} (last {LOG_TAIL_LINES} lines of this run)")
    for line in tail_lines(log, LOG_TAIL_LINES, since=log_offset):
        print(f"    | {line}")
    # Keep supervisord from restarting a broken service over and over.
    if stack.supervisor.program(service.name).state in _STOPPABLE_STATES:
        stack.supervisor.stop(service.name)
    print("services started before it keep running; `python -m stackctl stop` stops them")
    return False


def _run_after_start(stack: Stack, service: ServiceSpec) -> str | None:
    """Run the service's after_start commands (idempotent setup, e.g. the schema); None when
    all succeed, else what failed with its output."""
    env = {**stack.environ, **stack.env(service)}
    for argv in stack.after_start(service):
        try:
            result = subprocess.run(
                argv,
                cwd=stack.root,
                env=env,
                capture_output=True,
                text=True,
                timeout=service.start_timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"setup command {argv[0]} failed: {exc}"
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()
            return f"setup command failed (exit {result.returncode}): {' '.join(argv)}\n{output}"
    return None


def _wait_healthy(stack: Stack, service: ServiceSpec) -> str | None:
    """None once healthy; otherwise why not (the process died, or the timeout passed)."""
    url = stack.health_url(service)
    deadline = time.monotonic() + service.start_timeout_s
    health = Health(False, "not probed yet")
    while True:
        status = stack.supervisor.program(service.name)
        if status.state in FAILED_STATES:
            return f"process {status.state.lower()} ({status.description})"
        health = probe(url, timeout=1.0)
        if health.ok:
            return None
        if time.monotonic() >= deadline:
            shown = redacted(url)
            return f"not healthy after {service.start_timeout_s:.0f}s ({shown}: {health.detail})"
        time.sleep(0.25)


def _print_ready(stack: Stack) -> None:
    print("stack is up:")
    for service in stack.services:
        url = stack.url(service)
        print(f"  {service.name:<8} {url or '-'}  {service.description}")
    print(f"logs: {stack.paths.logs_dir}/ (python -m stackctl logs [service]); stop: make stop")
    if stack.paths.state_dir != (stack.root / stack.spec.state_dir).resolve():
        print(f"  (this stack's state folder: {STATE_DIR_ENV}={stack.paths.state_dir})")
    examples = [stack.expand(s, s.example, "example") for s in stack.services if s.example]
    if examples:
        print("try it:")
        for example in examples:
            print(f"  {example}")


# -- stop -----------------------------------------------------------------------------------


def stop(stack: Stack) -> int:
    client = stack.supervisor
    if client.running():
        supervisord_pid = client.pid()
        programs = client.programs()
        # Every service supervisord runs, whichever profiles the stack was started with.
        for service in reversed(stack.every_service):
            status = programs.get(service.name)
            if status is None or status.state not in _STOPPABLE_STATES:
                continue
            print(f"  {service.name:<8} ... ", end="", flush=True)
            client.stop(service.name, timeout=service.stop_timeout_s + 10)
            print("stopped")
        client.shutdown()
        if wait_gone([supervisord_pid], timeout=15):
            terminate([supervisord_pid])
        print("  supervisord stopped")
    else:
        print("supervisord is not running")
    leftovers = owned_processes(stack.owner)
    if leftovers:
        print(f"ending {len(leftovers)} leftover process(es):")
        for proc in leftovers:
            print(f"  pid {proc.pid}: {proc.command}")
        survivors = terminate(proc.pid for proc in leftovers)
        if survivors:
            raise StackError(f"processes would not exit: {survivors}")
    print("stack stopped")
    return 0


def restart(stack: Stack) -> int:
    stop(stack)
    return start(stack)


# -- status ---------------------------------------------------------------------------------


def status(stack: Stack) -> int:
    client = stack.supervisor
    up = client.running()
    programs = client.programs() if up else {}
    rows = [("SERVICE", "STATE", "PID", "PORT", "HEALTH")]
    # The services of this stack, and those of other profiles that supervisord runs.
    running = {s.name for s in stack.services} | set(programs)
    shown = [s for s in stack.every_service if s.name in running]
    for service in shown:
        program = programs.get(service.name)
        health = probe(stack.health_url(service), timeout=1.0)
        rows.append(
            (
                service.name,
                program.state if program else "STOPPED",
                str(program.pid) if program and program.pid else "-",
                str(service.port),
                f"{'ok' if health.ok else 'down'} ({health.detail})",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    if up:
        print(f"supervisord: running (pid {client.pid()}), config {stack.paths.conf}")
    else:
        print("supervisord: not running")
        leftovers = owned_processes(stack.owner)
        if leftovers:
            pids = ", ".join(str(proc.pid) for proc in leftovers)
            print(f"processes of this stack run unsupervised (pids {pids}); `stop` ends them")
    return 0


# -- logs -----------------------------------------------------------------------------------


def logs(stack: Stack, service: str | None) -> int:
    """Follow one service's log, or all of them; `supervisord` names the daemon's own log."""
    if service == "supervisord":
        files = [stack.paths.supervisord_log]
    elif service:
        files = [stack.paths.service_log(stack.service(service).name)]
    else:
        files = [stack.paths.service_log(s.name) for s in stack.services]
    if not any(path.exists() for path in files):
        raise StackError(f"no logs yet under {stack.paths.logs_dir}; start the stack first")
    sys.stdout.flush()
    os.execvp("tail", ["tail", "-n", "50", "-F", *map(str, files)])
