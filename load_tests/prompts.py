"""The load-test dataset (`data/prompts.jsonl`) and the chat requests built from it.

Each row has a `kind`: `short` (a one-line question), `conversation` (3-4 turns ending on a
user turn), `document` (a paragraph; the `long` scenario stacks them into a ~1500-token
context), `long_question` (asked about that context), `tool` (a function definition) and
`tool_prompt` (a question for a named tool).

A `PromptPicker` belongs to one simulated user. By default it picks prompts at random and
prefixes the first user turn with a tag unique to the user and request, so neither the
gateway's caches nor the engine's prefix cache flatter the numbers. `cache_friendly=True`
gives every user the same prompts in the same order, untagged.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from load_tests.workloads import WORKLOADS

DATASET = Path(__file__).parent / "data" / "prompts.jsonl"
# What a load test sends: one kind of request each, or `mixed` (weighted, in the locustfile);
# then the workloads of controlled shapes (`workloads.py`).
SCENARIOS = ("short", "medium", "long", "stream", "tools", "mixed", *WORKLOADS)
# SmolLM2's tokenizer averages ~4.5 characters per token on this English prose.
LONG_CONTEXT_CHARS = 6800

Message = dict[str, Any]


@dataclass(frozen=True)
class Dataset:
    short: list[str]
    conversations: list[list[Message]]
    documents: list[str]
    long_questions: list[str]
    tools: dict[str, dict[str, Any]]
    tool_prompts: list[tuple[str, str]]


def load_dataset(path: Path = DATASET) -> Dataset:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def of(kind: str) -> list[dict[str, Any]]:
        return [row for row in rows if row["kind"] == kind]

    dataset = Dataset(
        short=[row["prompt"] for row in of("short")],
        conversations=[row["messages"] for row in of("conversation")],
        documents=[row["text"] for row in of("document")],
        long_questions=[row["prompt"] for row in of("long_question")],
        tools={row["function"]["name"]: row["function"] for row in of("tool")},
        tool_prompts=[(row["tool"], row["prompt"]) for row in of("tool_prompt")],
    )
    unknown = {name for name, _ in dataset.tool_prompts} - set(dataset.tools)
    if unknown:
        raise ValueError(f"{path}: tool_prompt rows name undefined tools: {sorted(unknown)}")
    return dataset


@dataclass
class ToolRequest:
    messages: list[Message]
    tools: list[dict[str, Any]]
    tool_name: str


@dataclass
class PromptPicker:
    """Builds the messages of one user's requests."""

    dataset: Dataset
    cache_friendly: bool = False
    user_tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    rng: random.Random = field(default_factory=random.Random)
    _count: int = 0

    def __post_init__(self) -> None:
        if self.cache_friendly:
            self.rng = random.Random(0)  # every user draws the same sequence

    def short(self) -> list[Message]:
        return self._tagged([{"role": "user", "content": self.rng.choice(self.dataset.short)}])

    def medium(self) -> list[Message]:
        conversation = self.rng.choice(self.dataset.conversations)
        return self._tagged([dict(message) for message in conversation])

    def long(self) -> list[Message]:
        documents = self.rng.sample(self.dataset.documents, len(self.dataset.documents))
        context: list[str] = []
        while documents and sum(len(text) for text in context) < LONG_CONTEXT_CHARS:
            context.append(documents.pop())
        question = self.rng.choice(self.dataset.long_questions)
        content = "\n\n".join([*context, question])
        return self._tagged([{"role": "user", "content": content}])

    def stream(self) -> list[Message]:
        """Chat-sized prompts: TTFT as a chat user sees it, short and multi-turn alike."""
        return self.short() if self.rng.random() < 0.5 else self.medium()

    def tools(self) -> ToolRequest:
        name, prompt = self.rng.choice(self.dataset.tool_prompts)
        tools = [{"type": "function", "function": spec} for spec in self.dataset.tools.values()]
        messages = self._tagged([{"role": "user", "content": prompt}])
        return ToolRequest(messages=messages, tools=tools, tool_name=name)

    def _tagged(self, messages: list[Message]) -> list[Message]:
        self._count += 1
        if self.cache_friendly:
            return messages
        # At the start of the first user turn: requests share the system prompt, nothing more.
        first = messages[0]
        first["content"] = f"[{self.user_tag}-{self._count}] {first['content']}"
        return messages
