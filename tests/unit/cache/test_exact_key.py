from __future__ import annotations

from dataclasses import replace

from api_server.cache.exact_key import KEY_PREFIX, exact_cache_key
from api_server.chat.conversation import ChatMessage, Conversation, NamedToolChoice, ToolSpec
from api_server.chat.sampling import SamplingParams

CONVERSATION = Conversation(messages=(ChatMessage("user", "What is the capital of France?"),))
SAMPLING = SamplingParams(max_tokens=16, temperature=0.0)


def key(**changes: object) -> str:
    conversation = changes.pop("conversation", CONVERSATION)
    sampling = replace(SAMPLING, **changes.pop("sampling", {}))  # type: ignore[arg-type]
    model = str(changes.pop("model", "tiny-chatml"))
    tenant = changes.pop("tenant", None)
    return exact_cache_key(model, conversation, sampling, tenant)  # type: ignore[arg-type]


def test_key_is_stable_and_prefixed() -> None:
    assert key() == key()
    assert key().startswith(KEY_PREFIX)
    assert len(key().removeprefix(KEY_PREFIX)) == 64


def test_everything_that_changes_the_output_changes_the_key() -> None:
    tools = (ToolSpec("get_weather", parameters={"type": "object"}),)
    variants = [
        key(model="other"),
        key(conversation=Conversation((ChatMessage("user", "What is the capital of Spain?"),))),
        key(conversation=Conversation(CONVERSATION.messages, tools=tools)),
        key(
            conversation=Conversation(
                CONVERSATION.messages, tools=tools, tool_choice=NamedToolChoice("get_weather")
            )
        ),
        key(sampling={"temperature": 0.5}),
        key(sampling={"top_p": 0.9}),
        key(sampling={"top_k": 40}),
        key(sampling={"stop": ("\n",)}),
        key(sampling={"seed": 7}),
        key(sampling={"max_tokens": 17}),
        key(sampling={"presence_penalty": 0.1}),
        key(sampling={"frequency_penalty": 0.1}),
        key(tenant="key-1"),
    ]
    assert len({key(), *variants}) == len(variants) + 1


def test_tenants_have_their_own_keyspace() -> None:
    assert key(tenant="key-1").startswith(f"{KEY_PREFIX}key-1:")
    assert key(tenant="key-1") != key(tenant="key-2")
