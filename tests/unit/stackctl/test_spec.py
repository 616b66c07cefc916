from pathlib import Path

import pytest

from stackctl.errors import StackError
from stackctl.spec import ServiceSpec, StackSpec, dependency_order, load_stack, parse_stack

ROOT = Path(__file__).resolve().parents[3]


def service(name: str, *depends_on: str) -> ServiceSpec:
    return ServiceSpec(
        name=name, command=("run",), port=1000, health="tcp://x:1", depends_on=depends_on
    )


def names(services: list[ServiceSpec]) -> list[str]:
    return [spec.name for spec in services]


@pytest.mark.parametrize(
    ("services", "expected"),
    [
        ([service("a"), service("b")], ["a", "b"]),
        ([service("gateway", "engine"), service("engine")], ["engine", "gateway"]),
        (
            [service("gw", "db", "cache"), service("cache"), service("db", "cache")],
            ["cache", "db", "gw"],
        ),
        ([], []),
    ],
)
def test_dependency_order(services: list[ServiceSpec], expected: list[str]) -> None:
    assert names(dependency_order(services)) == expected


def test_dependency_order_rejects_cycles() -> None:
    with pytest.raises(StackError, match="cycle: a, b"):
        dependency_order([service("a", "b"), service("b", "a"), service("c")])


def test_dependency_order_rejects_unknown_dependency() -> None:
    with pytest.raises(StackError, match="'gateway' depends on unknown service 'engin'"):
        dependency_order([service("gateway", "engin")])


def test_parse_stack_names_services_from_keys_and_orders_them() -> None:
    stack = parse_stack(
        {
            "services": {
                "gateway": {
                    "command": ["gw"],
                    "port": 8000,
                    "health": "http://h/",
                    "depends_on": ["engine"],
                },
                "engine": {"command": ["eng"], "port": 8080, "health": "http://h/"},
            }
        }
    )
    assert names(stack.ordered()) == ["engine", "gateway"]
    assert stack.service("gateway").depends_on == ("engine",)
    assert stack.state_dir == ".state"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"services": {"x": {"command": [], "port": 1, "health": "h"}}}, "command"),
        ({"services": {"x": {"command": ["a"], "port": 70000, "health": "h"}}}, "port"),
        ({"services": {"x": {"command": ["a"], "port": 1, "health": "h", "typo": 1}}}, "typo"),
        (
            {"services": {"x": {"command": ["a"], "port": 1, "health": "h", "depends_on": ["y"]}}},
            "unknown service 'y'",
        ),
        (None, "invalid"),
    ],
)
def test_parse_stack_rejects_bad_config(data: object, message: str) -> None:
    with pytest.raises(StackError, match=message):
        parse_stack(data)


def test_unknown_service_lists_the_known_ones() -> None:
    stack = load_stack(ROOT / "configs" / "stack.yaml")
    with pytest.raises(
        StackError,
        match=r"unknown service 'db' \(services: postgres, redis, engine, engine2, vllm, max, "
        r"gateway\)",
    ):
        stack.service("db")


def test_repository_stack_starts_the_gateway_last_on_their_ports() -> None:
    stack = load_stack(ROOT / "configs" / "stack.yaml")
    assert [(spec.name, spec.port) for spec in stack.ordered()] == [
        ("postgres", 5432),
        ("redis", 6379),
        ("engine", 8080),
        ("engine2", 8081),
        ("vllm", 8001),
        ("max", 8002),
        ("gateway", 8000),
    ]


def _profiled_stack() -> StackSpec:
    return parse_stack(
        {
            "profiles": {"gpu": "the big engine", "other": "something else"},
            "services": {
                "db": {"command": ["x"], "port": 1, "health": "tcp://x:1"},
                "big": {"command": ["x"], "port": 2, "health": "tcp://x:2", "profiles": ["gpu"]},
                "gw": {
                    "command": ["x"],
                    "port": 3,
                    "health": "tcp://x:3",
                    "depends_on": ["db", "big"],
                },
            },
        }
    )


def test_profiled_services_run_only_when_chosen() -> None:
    stack = _profiled_stack()
    assert stack.chosen([]) == {"db", "gw"}
    assert stack.chosen(["gpu"]) == {"db", "big", "gw"}
    assert stack.chosen(["other"]) == {"db", "gw"}
    assert stack.chosen([], named=["big"]) == {"db", "big", "gw"}


def test_a_dependency_outside_the_chosen_profiles_is_skipped() -> None:
    stack = _profiled_stack()
    assert names(stack.with_dependencies(["gw"], stack.chosen([]))) == ["db", "gw"]
    assert names(stack.with_dependencies(["gw"], stack.chosen(["gpu"]))) == ["db", "big", "gw"]


def test_an_unknown_profile_is_refused_with_the_known_ones() -> None:
    with pytest.raises(StackError, match=r"unknown profile\(s\) gpus \(profiles: gpu, other\)"):
        _profiled_stack().chosen(["gpus"])


def test_a_service_may_only_name_declared_profiles() -> None:
    with pytest.raises(StackError, match="undeclared profile"):
        parse_stack(
            {"services": {"a": {"command": ["x"], "port": 1, "health": "h", "profiles": ["p"]}}}
        )


def test_repository_profiles_add_the_gpu_path_engines() -> None:
    stack = load_stack(ROOT / "configs" / "stack.yaml")
    base = {"postgres", "redis", "engine", "gateway"}
    assert stack.chosen([]) == stack.chosen(["cpu"]) == base
    assert stack.chosen(["vllm", "max"]) == base | {"vllm", "max"}


def test_with_dependencies_brings_what_a_service_needs_in_start_order() -> None:
    stack = parse_stack(
        {
            "services": {
                "gw": {"command": ["x"], "port": 1, "health": "tcp://x:1", "depends_on": ["db"]},
                "db": {"command": ["x"], "port": 2, "health": "tcp://x:2", "depends_on": ["disk"]},
                "disk": {"command": ["x"], "port": 3, "health": "tcp://x:3"},
                "other": {"command": ["x"], "port": 4, "health": "tcp://x:4"},
            }
        }
    )
    assert names(stack.with_dependencies(["gw"])) == ["disk", "db", "gw"]
    assert names(stack.with_dependencies(["other", "disk"])) == ["disk", "other"]
    with pytest.raises(StackError, match="unknown service 'nope'"):
        stack.with_dependencies(["nope"])


def test_load_stack_reports_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="cannot read"):
        load_stack(tmp_path / "missing.yaml")
