"""Mistral prompts must equal mistral-common's own rendering (`encode_chat_completion().text`).

Reference tokenizers: the files shipped in the installed mistral_common package
(`mistral_common/data/`). SentencePiece v3/v7 come from `MistralTokenizer.v3()` / `.v7()`,
Tekken v3 from `MistralTokenizer.v3(is_tekken=True)` (Mistral-Nemo, tekken_240718.json).
No v13 (and no Tekken v7) file ships, so those reuse tekken_240718.json's vocabulary with the
config version set and the special tokens Devstral's tekken.json declares: rendering depends
only on the tokenizer version and the special-token strings, not on the vocabulary.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from mistral_common.protocol.instruct.messages import (
    AssistantMessage,
    SystemMessage,
    ToolMessage,
    UserMessage,
)
from mistral_common.protocol.instruct.request import ChatCompletionRequest
from mistral_common.protocol.instruct.tool_calls import Function, FunctionCall, Tool, ToolCall
from mistral_common.tokens.tokenizers.base import SpecialTokenPolicy
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

from api_server.chat.conversation import ChatMessage, Conversation
from api_server.chat.conversation import ToolCall as GatewayToolCall
from api_server.prompts import PromptFormatError, build_formatter
from api_server.prompts.mistral import MistralVersion, format_mistral_prompt
from api_server.prompts.tool_ids import to_mistral_call_id
from tests.unit.prompts.conversations import (
    ANSWER,
    ASK,
    CALL,
    FOLLOW_UP,
    PARALLEL_CALLS,
    PLAIN,
    RESULT,
    SYSTEM,
    WEATHER,
    WITH_TOOLS,
)

DATA = Path(MistralTokenizer._data_path())  # the package's shipped tokenizer files

EXTRA = {
    "two_systems_between_users": Conversation(
        (
            ChatMessage("user", "a"),
            SYSTEM,
            ChatMessage("user", "b"),
            ChatMessage("system", "Extra."),
        )
    ),
    "consecutive_users_merge": Conversation((ChatMessage("user", "a"), ChatMessage("user", "b"))),
    "assistant_first": Conversation((ANSWER, FOLLOW_UP)),
    "client_style_ids": Conversation(
        (
            ASK,
            ChatMessage(
                "assistant", None, (GatewayToolCall("call_9f2Xq_LONG-id", "get_weather", "{}"),)
            ),
            ChatMessage("tool", "not json", tool_call_id="call_9f2Xq_LONG-id"),
        ),
        tools=(WEATHER,),
    ),
}
CASES = {**PLAIN, **WITH_TOOLS, **EXTRA, "parallel_calls": PARALLEL_CALLS}
# v3 rejects an assistant turn with both content and calls; v7+ render both.
CONTENT_AND_CALL = Conversation(
    (ASK, ChatMessage("assistant", "Let me check.", CALL.tool_calls), RESULT), tools=(WEATHER,)
)


def _tekken_file(directory: Path, version: str) -> Path:
    data = json.loads((DATA / "tekken_240718.json").read_text(encoding="utf-8"))
    data["config"]["version"] = version
    names = [
        "<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]",
        "[TOOL_RESULTS]", "[/TOOL_RESULTS]", "[TOOL_CALLS]", "[IMG]", "<pad>", "[IMG_BREAK]",
        "[IMG_END]", "[PREFIX]", "[MIDDLE]", "[SUFFIX]", "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]",
        "[TOOL_CONTENT]", *[f"<SPECIAL_{i}>" for i in range(20, 32)], "[ARGS]", "[CALL_ID]",
    ]  # fmt: skip
    data["special_tokens"] = [
        {"rank": rank, "token_str": name, "is_control": True} for rank, name in enumerate(names)
    ]
    path = directory / f"tekken_{version}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], Any]:
    directory = tmp_path_factory.mktemp("tekken")
    return {
        ("v3", True): MistralTokenizer.v3(),
        ("v7", True): MistralTokenizer.v7(),
        ("v3", False): MistralTokenizer.v3(is_tekken=True),
        ("v7", False): MistralTokenizer.from_file(_tekken_file(directory, "v7")),
        ("v13", False): MistralTokenizer.from_file(_tekken_file(directory, "v13")),
    }


def _mistral_request(conversation: Conversation) -> ChatCompletionRequest:  # type: ignore[type-arg]
    messages: list[Any] = []
    for m in conversation.messages:
        if m.role == "system":
            messages.append(SystemMessage(content=m.content or ""))
        elif m.role == "user":
            messages.append(UserMessage(content=m.content or ""))
        elif m.role == "assistant":
            calls = [
                ToolCall(
                    id=to_mistral_call_id(c.id),
                    function=FunctionCall(name=c.name, arguments=c.arguments),
                )
                for c in m.tool_calls
            ]
            messages.append(AssistantMessage(content=m.content, tool_calls=calls or None))
        else:
            messages.append(
                ToolMessage(
                    content=m.content, tool_call_id=to_mistral_call_id(m.tool_call_id or "")
                )
            )
    tools = [
        Tool(
            function=Function(name=t.name, description=t.description or "", parameters=t.parameters)
        )
        for t in conversation.tools
    ]
    return ChatCompletionRequest(messages=messages, tools=tools or None)


def _spm_pieces_to_text(pieces: str) -> str:
    """Undo SentencePiece's piece spelling in `.text`: `▁` is a space, `<0xNN>` runs are UTF-8."""
    text = pieces.replace("\u2581", " ")
    return re.sub(
        r"(?:<0x[0-9A-F]{2}>)+",
        lambda m: bytes(int(h, 16) for h in re.findall(r"<0x([0-9A-F]{2})>", m.group())).decode(),
        text,
    )


def _reference(tokenizer: Any, conversation: Conversation, sentencepiece: bool) -> str:
    tokens = tokenizer.encode_chat_completion(_mistral_request(conversation)).tokens
    text = str(tokenizer.decode(tokens, special_token_policy=SpecialTokenPolicy.KEEP))
    return _spm_pieces_to_text(text) if sentencepiece else text


TOKENIZER_KEYS = [("v3", True), ("v7", True), ("v3", False), ("v7", False), ("v13", False)]


@pytest.mark.parametrize(
    "key", TOKENIZER_KEYS, ids=lambda k: f"{k[0]}-{'spm' if k[1] else 'tekken'}"
)
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_mistral_common(
    tokenizers: dict[tuple[str, bool], Any], key: tuple[MistralVersion, bool], name: str
) -> None:
    version, sentencepiece = key
    expected = _reference(tokenizers[key], CASES[name], sentencepiece)
    assert (
        format_mistral_prompt(CASES[name], version=version, sentencepiece=sentencepiece).text
        == expected
    )


@pytest.mark.parametrize("key", [k for k in TOKENIZER_KEYS if k[0] != "v3"], ids=str)
def test_content_and_call_in_one_turn(
    tokenizers: dict[tuple[str, bool], Any], key: tuple[MistralVersion, bool]
) -> None:
    version, sentencepiece = key
    expected = _reference(tokenizers[key], CONTENT_AND_CALL, sentencepiece)
    assert (
        format_mistral_prompt(CONTENT_AND_CALL, version=version, sentencepiece=sentencepiece).text
        == expected
    )


def test_v3_rejects_content_and_call_like_mistral_common(
    tokenizers: dict[tuple[str, bool], Any],
) -> None:
    with pytest.raises(Exception, match="not both"):
        tokenizers[("v3", False)].encode_chat_completion(_mistral_request(CONTENT_AND_CALL))
    with pytest.raises(PromptFormatError):
        format_mistral_prompt(CONTENT_AND_CALL, version="v3")


@pytest.mark.parametrize("family", ["mistral-v3", "mistral-v7", "mistral-v13"])
def test_prompt_metadata(family: str) -> None:
    prompt = build_formatter(family)(Conversation((ASK,)))
    assert prompt.starts_with_bos and prompt.text.startswith("<s>")
    assert prompt.stop == ("</s>",)
