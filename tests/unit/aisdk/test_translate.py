from __future__ import annotations

from typing import Any

import pytest

from api_server.aisdk.protocol import ChatStreamRequest
from api_server.aisdk.translate import to_conversation
from api_server.chat.conversation import ChatMessage, ToolCall
from api_server.errors import InvalidRequestError

CALL: Any = {
    "type": "tool-get_weather",
    "toolCallId": "c1",
    "state": "output-available",
    "input": {"city": "Paris"},
    "output": "21C",
}


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        (
            [{"role": "user", "content": "Hi"}],
            [ChatMessage(role="user", content="Hi")],
        ),
        (
            [{"id": "1", "role": "system", "parts": [{"type": "text", "text": "Be brief."}]}],
            [ChatMessage(role="system", content="Be brief.")],
        ),
        (
            [
                {
                    "role": "user",
                    "parts": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                }
            ],
            [ChatMessage(role="user", content="ab")],
        ),
        (
            [
                {
                    "role": "assistant",
                    "parts": [
                        {"type": "step-start"},
                        {"type": "text", "text": "Hm."},
                        CALL,
                        {"type": "text", "text": "It is 21C."},
                    ],
                }
            ],
            [
                ChatMessage(
                    role="assistant",
                    content="Hm.",
                    tool_calls=(ToolCall("c1", "get_weather", '{"city": "Paris"}'),),
                ),
                ChatMessage(role="tool", content="21C", tool_call_id="c1", name="get_weather"),
                ChatMessage(role="assistant", content="It is 21C."),
            ],
        ),
        (
            [
                {
                    "role": "assistant",
                    "parts": [
                        {
                            **CALL,
                            "state": "output-error",
                            "errorText": "down",
                            "type": "dynamic-tool",
                            "toolName": "w",
                        }
                    ],
                }
            ],
            [
                ChatMessage(
                    role="assistant", tool_calls=(ToolCall("c1", "w", '{"city": "Paris"}'),)
                ),
                ChatMessage(role="tool", content="Error: down", tool_call_id="c1", name="w"),
            ],
        ),
        (
            [{"role": "assistant", "parts": [{**CALL, "state": "input-streaming"}]}],
            [],
        ),
    ],
)
def test_to_conversation(messages: list[Any], expected: list[ChatMessage]) -> None:
    request = ChatStreamRequest.model_validate({"messages": messages})
    assert list(to_conversation(request).messages) == expected


def test_tool_parts_in_user_messages_are_refused() -> None:
    request = ChatStreamRequest.model_validate({"messages": [{"role": "user", "parts": [CALL]}]})
    with pytest.raises(InvalidRequestError, match="belong in assistant messages"):
        to_conversation(request)


def test_tools_come_from_the_openai_shape() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    request = ChatStreamRequest.model_validate(
        {"messages": [{"role": "user", "content": "x"}], "tools": [tool]}
    )
    (spec,) = to_conversation(request).tools
    assert (spec.name, spec.parameters) == ("f", {"type": "object"})
