"""The `tool_name_map` setting: client tool names -> upstream names in requests, and back
in tool calls (streamed and not); the explicit map wins over the automatic rewriting."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from api_server.anthropic.protocol import MessagesRequest
from api_server.anthropic.render import MessageAssembler, MessageStreamRenderer
from api_server.anthropic.tool_names import ToolNameMap, safe_tool_name
from api_server.anthropic.translate import to_conversation, tool_names_for
from api_server.chat.events import ChatEvent, Finished, ToolCallArgumentsDelta, ToolCallStart, Usage
from api_server.config import Settings

EXPLICIT = {"web.search": "search", "Read": "read_file"}
SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}}
EVENTS: list[ChatEvent] = [
    ToolCallStart(0, "search"),
    ToolCallArgumentsDelta(0, '{"q": "x"}'),
    ToolCallStart(1, "read_file"),
    ToolCallArgumentsDelta(1, "{}"),
    Finished("tool_calls", Usage(prompt_tokens=3, completion_tokens=2)),
]


def request(**fields: Any) -> MessagesRequest:
    tools = [{"name": name, "input_schema": SCHEMA} for name in ("web.search", "Read", "search")]
    body = {"model": "m", "max_tokens": 8, "tools": tools, **fields}
    return MessagesRequest.model_validate({"messages": [{"role": "user", "content": "hi"}], **body})


def test_request_names_are_the_upstream_names_and_a_collision_gets_a_hash() -> None:
    conversation = to_conversation(request(), tool_names_for(request(), EXPLICIT), "m")
    offered = [tool.name for tool in conversation.tools]
    # The client's own "search" would take the name "web.search" maps to: it is hashed.
    assert offered[:2] == ["search", "read_file"]
    assert offered[2] != "search" and offered[2].startswith("search_")
    assert len(set(offered)) == 3


def test_tool_use_in_the_history_is_rewritten_too() -> None:
    use = {"type": "tool_use", "id": "toolu_1", "name": "web.search", "input": {"q": "x"}}
    history = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [use]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1"}]},
    ]
    req = request(messages=history, tools=None)
    conversation = to_conversation(req, tool_names_for(req, EXPLICIT), "m")
    calls = conversation.messages[1].tool_calls
    assert [call.name for call in calls] == ["search"]


def test_without_a_map_the_automatic_rewriting_is_unchanged() -> None:
    names = ToolNameMap.for_names(["web.search", "search"])
    assert names.model_name("web.search") == safe_tool_name("web.search")
    assert names.model_name("search") == "search"


def test_non_streamed_tool_calls_come_back_with_client_names() -> None:
    assembler = MessageAssembler("m", tool_names_for(request(), EXPLICIT))
    for event in EVENTS:
        assembler.add(event)
    content = assembler.result()["content"]
    assert [(block["name"], block["input"]) for block in content] == [
        ("web.search", {"q": "x"}),
        ("Read", {}),
    ]


def test_streamed_tool_calls_come_back_with_client_names() -> None:
    renderer = MessageStreamRenderer("m", tool_names_for(request(), EXPLICIT))
    raw = b"".join(renderer.render(event) for event in EVENTS).decode()
    frames = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: ")]
    starts = [f["content_block"]["name"] for f in frames if f["type"] == "content_block_start"]
    assert starts == ["web.search", "Read"]


def test_a_mapped_name_comes_back_even_when_the_request_did_not_list_it() -> None:
    names = ToolNameMap.for_names([], EXPLICIT)
    assert names.client_name("read_file") == "Read"
    assert names.model_name("Read") == "read_file"


@pytest.mark.parametrize(
    ("tool_map", "problem"),
    [
        ({"a": "same", "b": "same"}, "'same' is the upstream name of 2 tools"),
        ({"a": "not valid"}, "'not valid' is not a valid tool name"),
    ],
)
def test_settings_refuse_an_ambiguous_or_invalid_map(
    tool_map: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(tool_name_map=tool_map)


def test_settings_accept_a_one_to_one_map() -> None:
    assert Settings(tool_name_map=EXPLICIT).tool_name_map == EXPLICIT
