"""${placeholder} expansion for service definitions; costly values are computed only if used.

A service's strings see the stack's base values, its own host, port and vars, and every other
service's as ${service.key} (the gateway's env names ${postgres.port}, for one).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator, Mapping

from stackctl.errors import StackError
from stackctl.spec import ServiceSpec

Resolver = Callable[[], str]


class LazyValues(Mapping[str, str]):
    """Placeholder values; a callable is called on first use (e.g. building llama-server)."""

    def __init__(self, values: Mapping[str, str | Resolver]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> str:
        value = self._values[key]
        if not isinstance(value, str):
            value = value()
            self._values[key] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


class _Template(string.Template):
    # ${name}, or ${service.name} for another service's value (e.g. ${postgres.port}).
    braceidpattern = r"(?a:[_a-z][_a-z0-9]*(?:\.[_a-z][_a-z0-9]*)?)"


def expand(template: str, values: Mapping[str, str], where: str) -> str:
    try:
        return _Template(template).substitute(values)
    except KeyError as exc:
        known = ", ".join(sorted(values))
        raise StackError(
            f"{where}: unknown placeholder ${{{exc.args[0]}}} (known: {known})"
        ) from exc
    except ValueError as exc:
        raise StackError(f"{where}: {exc} in {template!r}") from exc


def services_named(template: str) -> set[str]:
    """The services a template refers to as ${service.key}."""
    return {
        match["braced"].split(".", 1)[0]
        for match in _Template.pattern.finditer(template)
        if match["braced"] and "." in match["braced"]
    }


def override_env_name(service: str, var: str) -> str:
    """The environment variable that overrides one of a service's vars."""
    return f"STACKCTL_{service}_{var}".upper().replace("-", "_")


def service_values(
    spec: ServiceSpec, base: Mapping[str, str | Resolver], environ: Mapping[str, str]
) -> LazyValues:
    """Everything a service's strings may refer to: base values, host, port, its vars."""
    values: dict[str, str | Resolver] = {
        **base,
        "name": spec.name,
        "host": spec.host,
        "port": str(spec.port),
    }
    for key, raw in spec.vars.items():
        override = environ.get(override_env_name(spec.name, key))
        values[key] = (
            override
            if override is not None
            else expand(str(raw), LazyValues(values), f"{spec.name}.vars.{key}")
        )
    return LazyValues(values)


def expand_all(templates: tuple[str, ...], values: Mapping[str, str], where: str) -> list[str]:
    return [expand(template, values, where) for template in templates]
