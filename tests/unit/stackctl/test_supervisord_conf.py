import configparser
import shlex
from pathlib import Path

import pytest
from supervisor.options import ServerOptions  # type: ignore[import-untyped]

from stackctl.errors import StackError
from stackctl.paths import StatePaths
from stackctl.supervisord_conf import Program, render_program, render_supervisord_conf

PROGRAMS = [
    Program("engine", ("/bin/llama-server", "--port", "8080"), priority=100),
    Program(
        "gateway",
        ("/venv/python", "-m", "api_server", "--note", "100% 'quoted' arg"),
        priority=110,
        stop_timeout_s=20,
        env={"PYTHONUNBUFFERED": "1", "ODD": 'a "b" \\c %d', "Q": "it's"},
    ),
]


def test_program_section_signals_the_whole_group_and_waits_for_stackctl() -> None:
    section = render_program(PROGRAMS[0], StatePaths(Path("/s")), Path("/repo"))
    lines = section.splitlines()
    assert lines[0] == "[program:engine]"
    for expected in (
        "command=/bin/llama-server --port 8080",
        "directory=/repo",
        "priority=100",
        "autostart=false",
        "stopasgroup=true",
        "killasgroup=true",
        "redirect_stderr=true",
        "stdout_logfile=/s/logs/engine.log",
    ):
        assert expected in lines
    assert not any(line.startswith("environment=") for line in lines)


def test_config_parses_as_ini_with_one_section_per_program() -> None:
    text = render_supervisord_conf(PROGRAMS, StatePaths(Path("/s")), Path("/repo"))
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    assert parser.get("unix_http_server", "file") == "/s/run/supervisor.sock"
    assert parser.get("supervisord", "pidfile") == "/s/run/supervisord.pid"
    assert parser.get("supervisorctl", "serverurl") == "unix:///s/run/supervisor.sock"
    assert [s for s in parser.sections() if s.startswith("program:")] == [
        "program:engine",
        "program:gateway",
    ]


def test_supervisord_reads_back_commands_and_environment_exactly(tmp_path: Path) -> None:
    paths = StatePaths(tmp_path / "state with space")
    paths.logs_dir.mkdir(parents=True)
    paths.run_dir.mkdir()
    paths.conf.write_text(render_supervisord_conf(PROGRAMS, paths, tmp_path))

    options = ServerOptions()
    options.realize(args=["-c", str(paths.conf)])

    configs = {
        config.name: config
        for group in options.process_group_configs
        for config in group.process_configs
    }
    assert shlex.split(configs["gateway"].command) == list(PROGRAMS[1].argv)
    assert configs["gateway"].environment == PROGRAMS[1].env
    assert configs["gateway"].stopwaitsecs == 20
    assert configs["engine"].priority < configs["gateway"].priority
    assert configs["engine"].stdout_logfile == str(paths.service_log("engine"))
    assert options.pidfile == str(paths.pidfile)


def test_an_environment_value_with_both_quotes_is_refused() -> None:
    program = Program("x", ("run",), priority=1, env={"BAD": 'it\'s "odd"'})
    with pytest.raises(StackError, match="BAD"):
        render_program(program, StatePaths(Path("/s")), Path("/repo"))
