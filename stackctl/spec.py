"""The stack description read from configs/stack.yaml, and the order services start in."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stackctl.errors import StackError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequiredFile(_Model):
    path: str
    hint: str = ""


StopSignal = Literal["TERM", "INT", "QUIT", "HUP", "KILL", "USR1", "USR2"]


class ServiceSpec(_Model):
    """One supervised process. Strings may hold ${placeholders} (see configs/stack.yaml)."""

    name: str = ""
    description: str = ""
    command: Annotated[tuple[str, ...], Field(min_length=1)]
    vars: dict[str, str | int | float] = {}
    host: str = "127.0.0.1"
    port: Annotated[int, Field(gt=0, lt=65536)]
    health: str
    url: str = ""
    depends_on: tuple[str, ...] = ()
    requires: tuple[RequiredFile, ...] = ()
    # A list is joined with commas, leaving out the items that name a service not running
    # in the stack (e.g. a replica whose profile is not chosen).
    env: dict[str, str | tuple[str, ...]] = {}
    dirs: tuple[str, ...] = ()
    after_start: tuple[Annotated[tuple[str, ...], Field(min_length=1)], ...] = ()
    start_timeout_s: Annotated[float, Field(gt=0)] = 60.0
    stop_timeout_s: Annotated[int, Field(gt=0)] = 10
    stop_signal: StopSignal = "TERM"
    example: str = ""
    # Optional services run only when one of their profiles is chosen (`make start
    # ENGINE=vllm`); a dependency on one that is not chosen is skipped.
    profiles: tuple[str, ...] = ()


class StackSpec(_Model):
    state_dir: str = ".state"
    # The profiles services may name, with what choosing each adds.
    profiles: dict[str, str] = {}
    services: dict[str, ServiceSpec]

    def chosen(self, profiles: Iterable[str], named: Iterable[str] = ()) -> set[str]:
        """The services that run with `profiles` chosen: every service without profiles, those
        in a chosen profile, and any service `named` outright."""
        wanted = set(profiles)
        unknown = sorted(wanted - set(self.profiles))
        if unknown:
            known = ", ".join(self.profiles) or "none"
            raise StackError(f"unknown profile(s) {', '.join(unknown)} (profiles: {known})")
        active = {
            name
            for name, spec in self.services.items()
            if not spec.profiles or wanted.intersection(spec.profiles)
        }
        return active | {self.service(name).name for name in named}

    def ordered(self) -> list[ServiceSpec]:
        """The services in start order (each after everything it depends on)."""
        return dependency_order(
            [spec.model_copy(update={"name": name}) for name, spec in self.services.items()]
        )

    def with_dependencies(
        self, names: Iterable[str], active: Collection[str] | None = None
    ) -> list[ServiceSpec]:
        """The named services and everything they depend on, in start order; dependencies
        outside `active` (optional services not chosen) are left out."""
        wanted: set[str] = set()
        pending = [self.service(name).name for name in names]
        while pending:
            name = pending.pop()
            if name not in wanted:
                wanted.add(name)
                pending.extend(
                    dep for dep in self.services[name].depends_on if active is None or dep in active
                )
        return [spec for spec in self.ordered() if spec.name in wanted]

    def service(self, name: str) -> ServiceSpec:
        for spec in self.ordered():
            if spec.name == name:
                return spec
        known = ", ".join(self.services)
        raise StackError(f"unknown service {name!r} (services: {known})")


def parse_stack(data: object, source: str = "stack config") -> StackSpec:
    try:
        stack = StackSpec.model_validate(data)
    except ValidationError as exc:
        raise StackError(f"{source} is invalid:\n{exc}") from exc
    stack.ordered()  # reject unknown dependencies and cycles up front
    for name, spec in stack.services.items():
        undeclared = sorted(set(spec.profiles) - set(stack.profiles))
        if undeclared:
            raise StackError(
                f"{source}: service {name!r} names undeclared profile(s) {', '.join(undeclared)}"
            )
    return stack


def load_stack(path: Path) -> StackSpec:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise StackError(f"cannot read {path}: {exc}") from exc
    return parse_stack(data, str(path))


def dependency_order(services: Sequence[ServiceSpec]) -> list[ServiceSpec]:
    """Topological order that keeps the file's order among services free to go."""
    by_name: Mapping[str, ServiceSpec] = {spec.name: spec for spec in services}
    for spec in services:
        for dep in spec.depends_on:
            if dep not in by_name:
                raise StackError(f"service {spec.name!r} depends on unknown service {dep!r}")
    ordered: list[ServiceSpec] = []
    placed: set[str] = set()
    while len(ordered) < len(services):
        ready = [
            spec
            for spec in services
            if spec.name not in placed and all(dep in placed for dep in spec.depends_on)
        ]
        if not ready:
            cycle = ", ".join(spec.name for spec in services if spec.name not in placed)
            raise StackError(f"services depend on each other in a cycle: {cycle}")
        ordered.append(ready[0])
        placed.add(ready[0].name)
    return ordered
