from __future__ import annotations

import pytest

from api_server.aisdk.protocol import UIMessage
from api_server.aisdk.title import clean_title, fallback_title, title_conversation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Capital of France", "Capital of France"),
        ('"Capital of France."', "Capital of France"),
        ("  Title: Weather   in\tParis!  ", "Weather in Paris"),
        ("\u201cTrip to Rome\u201d", "Trip to Rome"),
        ("\n\nFirst line\nsecond line", "First line"),
        ("**Bold title**", "Bold title"),
        ("'Quoted' words...", "Quoted' words"),
        ("", ""),
        ("   \n  ", ""),
        ("word " * 30, ("word " * 12).strip()),
        ("x" * 80, "x" * 60),
    ],
)
def test_clean_title(raw: str, expected: str) -> None:
    assert clean_title(raw) == expected


def test_fallback_title() -> None:
    messages = [
        UIMessage(role="system", content="Be brief."),
        UIMessage(role="user", content="  How do   I bake bread at home, step by step?"),
    ]
    assert fallback_title(messages) == "How do I bake bread at"
    assert fallback_title([UIMessage(role="user", content="")]) == "New conversation"


def test_title_conversation_shows_the_first_messages_only() -> None:
    messages = [UIMessage(role="user", content=f"message {n}") for n in range(6)]
    conversation = title_conversation(messages)
    assert [m.role for m in conversation.messages] == ["system", "user"]
    assert conversation.messages[1].content == "\n".join(f"user: message {n}" for n in range(4))


def test_title_length_is_a_parameter() -> None:
    assert clean_title("Weather in Paris tomorrow", max_chars=12) == "Weather in"
    assert clean_title("x" * 80, max_chars=100) == "x" * 80
    messages = [UIMessage(role="user", content="Plan a trip to Rome in May")]
    assert fallback_title(messages, max_chars=10) == "Plan a"
