"""Where the settings come from, highest first: init arguments, the environment, `.env`,
`configs/gateway.local.yaml`, `configs/gateway.yaml` (or the file named by
`INFERSTACK_CONFIG_FILE` and its `.local.yaml` sibling). Ordered maps are taken whole from
the highest source that sets them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, YamlConfigSettingsSource

DEFAULT_CONFIG_FILE = "configs/gateway.yaml"


def gateway_sources(
    settings_cls: type[BaseSettings],
    init_settings: PydanticBaseSettingsSource,
    env_settings: PydanticBaseSettingsSource,
    dotenv_settings: PydanticBaseSettingsSource,
) -> tuple[PydanticBaseSettingsSource, ...]:
    yaml_file = Path(os.environ.get("INFERSTACK_CONFIG_FILE", DEFAULT_CONFIG_FILE))
    # The machine's own overrides, never committed: gateway.yaml -> gateway.local.yaml.
    local_file = yaml_file.with_name(f"{yaml_file.stem}.local{yaml_file.suffix}")
    return (
        init_settings,
        _OrderedMapsTakenWhole(env_settings),
        _OrderedMapsTakenWhole(dotenv_settings),
        _OrderedMapsTakenWhole(YamlConfigSettingsSource(settings_cls, yaml_file=local_file)),
        _OrderedMapsTakenWhole(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file)),
    )


# Maps whose order means something (first match wins): pydantic-settings merges a dict of
# each source into the one above it key by key, which would put gateway.yaml's
# `claude-*` before an INFERSTACK_ANTHROPIC_MODEL_MAP's own `claude-*haiku*`.
_ORDERED_MAPS = frozenset({"anthropic_model_map"})


class _OrderedMapsTakenWhole(PydanticBaseSettingsSource):
    """`source`, less the ordered maps a source above it has set: those are taken whole."""

    def __init__(self, source: PydanticBaseSettingsSource) -> None:
        super().__init__(source.settings_cls)
        self._source = source

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._source.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        return {
            name: value
            for name, value in self._source().items()
            if name not in _ORDERED_MAPS or name not in self.current_state
        }
