"""Conversations shared by the formatter tests: plain chat, system prompts, tools, tool calls
and results across several turns. Ids are 9-char alphanumerics so Mistral accepts them as is."""

from __future__ import annotations

import json

from api_server.chat.conversation import ChatMessage, Conversation, ToolCall, ToolSpec

WEATHER = ToolSpec(
    name="get_weather",
    description="Get the current weather <in> a city & country",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City, e.g. Zürich"}},
        "required": ["city"],
    },
)
TIME = ToolSpec(name="get_time", parameters={"type": "object", "properties": {}})

SYSTEM = ChatMessage("system", "  You answer briefly.\n")
ASK = ChatMessage("user", "What's the weather in Zürich?  ")
CALL = ChatMessage(
    "assistant", None, (ToolCall("callA1234", "get_weather", '{"city":"Zürich","units":"C"}'),)
)
RESULT = ChatMessage(
    "tool", '{"temp": 21, "sky": "clear"}', tool_call_id="callA1234", name="get_weather"
)
ANSWER = ChatMessage("assistant", "It is 21 °C and clear.")
FOLLOW_UP = ChatMessage("user", "And the time?")
CALL_TIME = ChatMessage("assistant", None, (ToolCall("callB5678", "get_time", "{}"),))
RESULT_TIME = ChatMessage("tool", "14:05", tool_call_id="callB5678", name="get_time")

PLAIN: dict[str, Conversation] = {
    "single_user": Conversation((ChatMessage("user", "Hello!"),)),
    "system_and_user": Conversation((SYSTEM, ChatMessage("user", "Hi <b>there</b> & co"))),
    "multi_turn": Conversation(
        (
            SYSTEM,
            ChatMessage("user", "Name a colour."),
            ChatMessage("assistant", "Blue."),
            ChatMessage("user", "Another?"),
        )
    ),
    "no_system_multi_turn": Conversation(
        (ChatMessage("user", "1"), ChatMessage("assistant", "2"), ChatMessage("user", "3"))
    ),
}

WITH_TOOLS: dict[str, Conversation] = {
    "tools_first_turn": Conversation((SYSTEM, ASK), tools=(WEATHER, TIME)),
    "tools_no_system": Conversation((ASK,), tools=(WEATHER,)),
    "tool_call_and_result": Conversation((SYSTEM, ASK, CALL, RESULT), tools=(WEATHER, TIME)),
    "tool_round_trip_multi_turn": Conversation(
        (SYSTEM, ASK, CALL, RESULT, ANSWER, FOLLOW_UP, CALL_TIME, RESULT_TIME),
        tools=(WEATHER, TIME),
    ),
    "tool_result_then_user": Conversation(
        (ASK, CALL, RESULT, ANSWER, FOLLOW_UP), tools=(WEATHER, TIME)
    ),
}

PARALLEL_CALLS = Conversation(
    (
        ASK,
        ChatMessage(
            "assistant",
            None,
            (
                ToolCall("callA1234", "get_weather", '{"city": "Zürich"}'),
                ToolCall("callB5678", "get_time", "{}"),
            ),
        ),
        RESULT_TIME,
        RESULT,
    ),
    tools=(WEATHER, TIME),
)


def openai_messages(conversation: Conversation) -> list[dict[str, object]]:
    """The request as an OpenAI client sends it (arguments parsed, as transformers expects),
    written out independently of the code under test."""
    out: list[dict[str, object]] = []
    for m in conversation.messages:
        message: dict[str, object] = {"role": m.role, "content": m.content}
        if m.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.loads(c.arguments)},
                }
                for c in m.tool_calls
            ]
        if m.role == "tool":
            message["tool_call_id"] = m.tool_call_id
            message["name"] = m.name
        out.append(message)
    return out


def openai_tools(conversation: Conversation) -> list[dict[str, object]] | None:
    if not conversation.tools:
        return None
    tools: list[dict[str, object]] = []
    for t in conversation.tools:
        function: dict[str, object] = {"name": t.name}
        if t.description is not None:
            function["description"] = t.description
        function["parameters"] = t.parameters
        tools.append({"type": "function", "function": function})
    return tools
