"""Conversation titles: the prompt that asks the model for one, and the cleaning of what
it answers (models add quotes, "Title:", a full stop, a second line)."""

from __future__ import annotations

import re

from api_server.aisdk.protocol import UIMessage
from api_server.aisdk.translate import message_text
from api_server.chat.conversation import ChatMessage, Conversation
from api_server.chat.sampling import SamplingParams

DEFAULT_TITLE_MAX_CHARS = 60
TITLE_MAX_TOKENS = 16
_FIRST_MESSAGES = 4
_MESSAGE_CHARS = 500  # of each message shown to the model: a title needs the gist only
_FALLBACK_WORDS = 6

_INSTRUCTION = (
    "Write a short title (3 to 6 words) for the conversation below. "
    "Answer with the title only: no quotes, no punctuation at the end, no explanation."
)
_LABEL = re.compile(r"^\s*title\s*:\s*", re.IGNORECASE)
_QUOTES = "\"'`\u201c\u201d\u2018\u2019\u00ab\u00bb*#"  # curly and angle quotes too
_TRAILING = ".,;:!?- \u2013\u2014"  # en and em dashes too


def title_conversation(messages: list[UIMessage]) -> Conversation:
    lines = []
    for message in messages[:_FIRST_MESSAGES]:
        text = " ".join(message_text(message).split())[:_MESSAGE_CHARS]
        if text and message.role in ("user", "assistant"):
            lines.append(f"{message.role}: {text}")
    return Conversation(
        messages=(
            ChatMessage(role="system", content=_INSTRUCTION),
            ChatMessage(role="user", content="\n".join(lines)),
        )
    )


def title_sampling(limit: int) -> SamplingParams:
    return SamplingParams(max_tokens=min(TITLE_MAX_TOKENS, limit), temperature=0.0)


def clean_title(raw: str, max_chars: int = DEFAULT_TITLE_MAX_CHARS) -> str:
    """The first non-empty line, without a "Title:" label, wrapping quotes or trailing
    punctuation, whitespace collapsed, at most `max_chars` (cut at a word)."""
    line = next((line for line in raw.splitlines() if line.strip()), "")
    title = _LABEL.sub("", line).strip().strip(_QUOTES).strip()
    title = " ".join(title.split()).rstrip(_TRAILING).strip(_QUOTES).rstrip(_TRAILING)
    if len(title) > max_chars:
        cut = title[:max_chars]
        title = (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip(_TRAILING)
    return title


def fallback_title(messages: list[UIMessage], max_chars: int = DEFAULT_TITLE_MAX_CHARS) -> str:
    """The first user words, for a model that answered nothing usable."""
    first = next((message_text(m) for m in messages if m.role == "user" and message_text(m)), "")
    words = " ".join(first.split()[:_FALLBACK_WORDS])
    return clean_title(words, max_chars) or "New conversation"
