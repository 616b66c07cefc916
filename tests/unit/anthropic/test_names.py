"""Tool-name and model-name mapping: pure functions, table-tested."""

from __future__ import annotations

import re

import pytest

from api_server.anthropic.model_names import map_model_name
from api_server.anthropic.tool_names import ToolNameMap, safe_tool_name
from api_server.proxy_mode import UpstreamSettings, upstream_registry

SAFE = re.compile(r"[a-zA-Z0-9_-]{1,64}")
LONG = "mcp__filesystem__" + "read_multiple_files_with_a_very_long_name" * 2


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("get_weather", "get_weather"),
        ("Bash", "Bash"),
        ("web-search_2", "web-search_2"),
        ("a" * 64, "a" * 64),
        ("get.weather", re.compile(r"get_weather_[0-9a-f]{8}")),
        ("fs/read file", re.compile(r"fs_read_file_[0-9a-f]{8}")),
        ("...", re.compile(r"tool_[0-9a-f]{8}")),
        ("天気", re.compile(r"tool_[0-9a-f]{8}")),
        ("a" * 65, re.compile(r"a{55}_[0-9a-f]{8}")),
        (LONG, re.compile(r"mcp__filesystem__read\w{34}_[0-9a-f]{8}")),
    ],
)
def test_safe_tool_name(name: str, expected: str | re.Pattern[str]) -> None:
    safe = safe_tool_name(name)
    assert SAFE.fullmatch(safe)
    if isinstance(expected, str):
        assert safe == expected
    else:
        assert expected.fullmatch(safe), safe
    assert safe_tool_name(name) == safe  # the same in every request of a conversation


def test_names_that_clean_up_alike_stay_apart() -> None:
    names = ToolNameMap.for_names(["a.b", "a/b", "a_b"])
    assert len(set(names.to_model.values())) == 3
    assert names.model_name("a_b") == "a_b"


@pytest.mark.parametrize("name", ["get_weather", "get.weather", LONG, "x y"])
def test_tool_names_round_trip(name: str) -> None:
    names = ToolNameMap.for_names([name, "other"])
    assert names.client_name(names.model_name(name)) == name


def test_unknown_names_map_the_same_way_and_come_back_unchanged() -> None:
    names = ToolNameMap.for_names([])
    assert names.model_name("old.tool") == safe_tool_name("old.tool")
    assert names.client_name("whatever_the_model_said") == "whatever_the_model_said"


REGISTERED = {"smollm2-135m-instruct", "smollm2", "llama-3.1-8b-instruct"}
MAP = {"claude-3-5-haiku*": "Llama-3.1-8B-Instruct", "claude-*": "default"}
DEFAULT = "SmolLM2-135M-Instruct"


@pytest.mark.parametrize(
    ("requested", "model_map", "default", "expected"),
    [
        ("claude-3-5-sonnet-latest", MAP, DEFAULT, DEFAULT),
        ("CLAUDE-3-5-SONNET-20241022", MAP, DEFAULT, DEFAULT),
        ("claude-3-5-haiku-20241022", MAP, DEFAULT, "Llama-3.1-8B-Instruct"),
        ("Claude-3-5-Haiku-Latest", MAP, DEFAULT, "Llama-3.1-8B-Instruct"),
        ("smollm2", {"*": "Llama-3.1-8B-Instruct"}, DEFAULT, "smollm2"),  # registered: kept
        ("SMOLLM2", MAP, DEFAULT, "SMOLLM2"),  # the registry corrects the case
        ("gpt-4o", MAP, DEFAULT, "gpt-4o"),  # no match: the registry answers 404
        ("claude-opus-4", {}, DEFAULT, "claude-opus-4"),
        ("claude-opus-4", {"claude-opus-*": "smollm2"}, DEFAULT, "smollm2"),
        # No default of the registry's own (proxy mode): `default` keeps the name as asked.
        ("claude-3-5-sonnet-latest", MAP, None, "claude-3-5-sonnet-latest"),
        ("Claude-Sonnet-4-5", {"claude-*": "default"}, None, "Claude-Sonnet-4-5"),
        ("claude-3-5-haiku-20241022", MAP, None, "Llama-3.1-8B-Instruct"),
        ("gpt-4o", MAP, None, "gpt-4o"),
    ],
)
def test_map_model_name(
    requested: str, model_map: dict[str, str], default: str | None, expected: str
) -> None:
    def is_registered(name: str) -> bool:
        return name.casefold() in REGISTERED

    assert map_model_name(requested, model_map, is_registered, default) == expected


PROXY_MAP = {"claude-*haiku*": "gpt-4o-mini", "claude-*": "gpt-4o"}


@pytest.mark.parametrize(
    ("requested", "model_map", "expected"),
    [
        ("claude-3-5-haiku-20241022", PROXY_MAP, "gpt-4o-mini"),
        ("claude-sonnet-4-5", PROXY_MAP, "gpt-4o"),
        ("gpt-4.1", PROXY_MAP, "gpt-4.1"),
        ("claude-sonnet-4-5", {"claude-*": "default"}, "claude-sonnet-4-5"),
    ],
)
def test_names_a_catch_all_takes_are_mapped(
    requested: str, model_map: dict[str, str], expected: str
) -> None:
    """Proxy mode's catch-all entry takes every name, yet registers none of them."""
    registry = upstream_registry(
        UpstreamSettings.model_validate({"base_url": "https://u.example/v1", "type": "openai"})
    )
    mapped = map_model_name(requested, model_map, registry.is_explicit, registry.named_default)
    assert mapped == expected
