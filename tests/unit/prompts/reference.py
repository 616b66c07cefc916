"""Reference renderings: Hugging Face transformers rendering an official template file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers.utils.chat_template_utils import render_jinja_template

from api_server.chat.conversation import Conversation
from tests.unit.prompts.conversations import openai_messages, openai_tools

FIXTURES = Path(__file__).parent / "fixtures"


def official_template(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def render_with_transformers(template: str, conversation: Conversation, **kwargs: Any) -> str:
    tools = openai_tools(conversation) if conversation.offers_tools else None
    rendered: Any = render_jinja_template(
        conversations=[openai_messages(conversation)],
        tools=tools,  # type: ignore[arg-type]
        chat_template=template,
        add_generation_prompt=True,
        **kwargs,
    )
    # transformers returns (texts, generation_indices) for a batch of conversations.
    texts = rendered[0] if isinstance(rendered, tuple) else rendered
    return str(texts[0]) if isinstance(texts, list) else str(texts)
