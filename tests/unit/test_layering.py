"""The gateway's layering, read from its imports: packages stack in the floors below, each
importing only its own floor or those beneath (README, "How it works"). A new import loop
or an import that climbs fails here, naming the module and the line."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "api_server"

# Top floor first. A unit is a package of api_server or a module at its root ("api_server"
# itself is the package's __init__, which holds the version).
FLOORS: tuple[frozenset[str], ...] = tuple(
    frozenset(floor.split())
    for floor in (
        "__main__",
        "cli",
        "workers",  # several gateway processes: the supervisor and each worker's app
        "app lifespan error_handlers",
        # Front doors and the other APIs: routers and their translation.
        "aisdk anthropic system keys_api logs_api embeddings_api dashboard files_api batches"
        " responses",
        "fakes",  # stand-in engines and upstreams for tests and `make bench`
        "openai",  # the AI SDK door reuses OpenAI's tool definitions
        "deps",
        # One tracked, admitted request, from a cache or generated, for every front door.
        "frontdoor",
        "state",
        "tracking ratelimit cache upstreams infra access_log batchstore admission",
        "generation archive",
        "engines auth logs embeddings sessions agent_ids response_store",
        "config config_secrets config_sources proxy_mode",
        "registry",
        "prompts tools http interceptors middleware openapi_doc",
        "chat validation",
        "client_schemas",  # a client's JSON schemas (tools, response_format), checked safely
        "errors sse log_format shared_file drop_report metrics arg_types pg_schema pg_errors"
        " priority_classes background_writes api_server",
    )
)

# Imports allowed to climb, each with its reason. Keep this short.
UPWARD: dict[tuple[str, str], str] = {}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "api_server"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_edges() -> list[tuple[str, str, str, int]]:
    """(importing unit, imported unit, importing file, line) for each import of one unit of
    api_server by another, those under TYPE_CHECKING included."""
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
                if node.module == "api_server":
                    targets = [f"api_server.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                if target.split(".")[0] != "api_server":
                    continue
                source_unit, target_unit = _unit(module), _unit(target)
                if (
                    not (PACKAGE / target_unit).is_dir()
                    and not (PACKAGE / f"{target_unit}.py").exists()
                ):
                    target_unit = "api_server"  # a name from the package's __init__
                if source_unit != target_unit:
                    edges.append(
                        (source_unit, target_unit, str(path.relative_to(PACKAGE)), node.lineno)
                    )
    return edges


def _floor_of(unit: str) -> int:
    """0 for the bottom floor."""
    for height, floor in enumerate(reversed(FLOORS)):
        if unit in floor:
            return height
    raise AssertionError(f"api_server/{unit} is on no floor: add it to FLOORS")


def test_every_unit_is_on_exactly_one_floor() -> None:
    placed = [unit for floor in FLOORS for unit in floor]
    assert len(placed) == len(set(placed))
    present = {
        path.stem if path.is_file() else path.name
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and any(path.glob("*.py")))
    } | {"api_server"}
    assert present == set(placed), (present - set(placed), set(placed) - present)


def test_no_import_climbs_a_floor() -> None:
    climbing = [
        f"{where}:{line} ({source} -> {target})"
        for source, target, where, line in import_edges()
        if _floor_of(target) > _floor_of(source) and (source, target) not in UPWARD
    ]
    assert not climbing, "imports from a lower floor up:\n" + "\n".join(climbing)


def test_no_two_units_import_each_other() -> None:
    """Within a floor imports may go sideways, but never both ways (nor round a loop)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target, _, _ in import_edges():
        graph[source].add(target)
    loop = _find_loop(graph)
    assert loop is None, "import loop: " + " -> ".join(loop or [])


def _find_loop(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}  # "open" while on the path, "done" after
    path: list[str] = []

    def visit(unit: str) -> list[str] | None:
        state[unit] = "open"
        path.append(unit)
        for after in sorted(graph.get(unit, ())):
            if state.get(after) == "open":
                return [*path[path.index(after) :], after]
            if after not in state and (found := visit(after)):
                return found
        path.pop()
        state[unit] = "done"
        return None

    for unit in sorted(graph):
        if unit not in state and (found := visit(unit)):
            return found
    return None


@pytest.mark.parametrize(
    ("graph", "loop"),
    [
        ({"a": {"b"}, "b": {"c"}}, None),
        ({"a": {"b"}, "b": {"a"}}, ["a", "b", "a"]),
        ({"a": {"b"}, "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
    ],
)
def test_the_loop_finder_finds_loops(graph: dict[str, set[str]], loop: list[str] | None) -> None:
    assert _find_loop(graph) == loop
