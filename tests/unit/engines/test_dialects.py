"""The per-engine request bodies, table-driven."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from api_server.chat.events import Usage
from api_server.chat.sampling import SamplingParams
from api_server.engines.dialects import (
    OVERLOAD_PAUSE_DEFAULT_S,
    OVERLOAD_PAUSE_MAX_S,
    build_bos_probe_body,
    build_completion_body,
    build_tokenize_body,
    completion_path,
    overload_pause_s,
    parse_bos_probe,
    parse_completion_chunk,
    parse_native_completion_chunk,
    parse_queue_depth,
    parse_total_slots,
    stop_strings,
)
from api_server.engines.types import CompletionChunk, CompletionRequest
from api_server.prompts.base import FormattedPrompt
from api_server.registry import EngineKind

LLAMA_PROMPT = FormattedPrompt(
    text="<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
    starts_with_bos=True,
    stop=("<|eot_id|>", "<|eom_id|>"),
)


def _request(prompt: FormattedPrompt = LLAMA_PROMPT, **sampling: Any) -> CompletionRequest:
    return CompletionRequest(
        prompt=prompt,
        sampling=SamplingParams(max_tokens=8, **sampling),
        request_id="r1",
        bos_token="<|begin_of_text|>",
    )


@pytest.mark.parametrize(
    ("kind", "adds_bos", "expected_extra", "prompt_starts_with_bos"),
    [
        ("vllm", False, {"add_special_tokens": False, "skip_special_tokens": False}, True),
        ("llamacpp", True, {"cache_prompt": True}, False),
        ("llamacpp", False, {"cache_prompt": True}, True),
        ("max", False, {}, True),
        ("max", True, {}, False),
    ],
)
def test_engine_specific_fields(
    kind: EngineKind,
    adds_bos: bool,
    expected_extra: dict[str, Any],
    prompt_starts_with_bos: bool,
) -> None:
    body = build_completion_body(kind, "served", _request(), engine_adds_bos=adds_bos)
    common = {"model", "prompt", "max_tokens", "stream", "stream_options", "stop"}
    assert set(body) == common | set(expected_extra)
    assert all(body[key] == value for key, value in expected_extra.items())
    assert body["prompt"].startswith("<|begin_of_text|>") is prompt_starts_with_bos
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_vllm_without_bos_in_prompt_lets_the_engine_add_it() -> None:
    prompt = FormattedPrompt(text="<|im_start|>user\nhi", starts_with_bos=False)
    body = build_completion_body("vllm", "m", _request(prompt), engine_adds_bos=False)
    assert "add_special_tokens" not in body


def test_sampling_fields_pass_through_and_stops_merge_without_duplicates() -> None:
    request = _request(temperature=0.0, top_p=0.9, seed=3, stop=("<|eot_id|>", "END"))
    body = build_completion_body("vllm", "m", request, engine_adds_bos=False)
    assert body["temperature"] == 0.0
    assert body["top_p"] == 0.9
    assert body["seed"] == 3
    assert body["stop"] == ["<|eot_id|>", "<|eom_id|>", "END"]
    assert "presence_penalty" not in body


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"choices": [{"text": "Hi", "finish_reason": None}]}, CompletionChunk("Hi")),
        ({"choices": [{"text": "", "finish_reason": "length"}]}, CompletionChunk("", "length")),
        ({"choices": [{"text": "", "finish_reason": None}]}, None),
        (
            {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}},
            CompletionChunk("", usage=Usage(3, 2)),
        ),
        ({"choices": []}, None),
        (
            {
                "choices": [{"text": "", "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1},
            },
            CompletionChunk("", "stop", Usage(1, 1)),
        ),
        # vLLM names the stop string it stopped on; a stop token's id is no sequence.
        (
            {"choices": [{"text": "", "finish_reason": "stop", "stop_reason": "END"}]},
            CompletionChunk("", "stop", stop_reason="END"),
        ),
        (
            {"choices": [{"text": "", "finish_reason": "stop", "stop_reason": 128009}]},
            CompletionChunk("", "stop"),
        ),
    ],
)
def test_parse_chunk(payload: dict[str, Any], expected: CompletionChunk | None) -> None:
    assert parse_completion_chunk(payload) == expected


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("llamacpp", "llamacpp:requests_processing 2\nllamacpp:requests_deferred 3\n", 3.0),
        (
            "vllm",
            '# HELP x\nvllm:num_requests_waiting{model_name="m"} 4.0\n'
            "vllm:num_requests_waiting_total 9\n",
            4.0,
        ),
        ("vllm", 'vllm:num_requests_waiting{a="1"} 1\nvllm:num_requests_waiting{a="2"} 2\n', 3.0),
        ("llamacpp", "nothing here\n", None),
        ("max", "anything 1\n", None),
        ("max", "maxserve_num_requests_queued 5.0\nmaxserve_num_requests_running 32.0\n", 5.0),
    ],
)
def test_parse_queue_depth(kind: EngineKind, text: str, expected: float | None) -> None:
    assert parse_queue_depth(kind, text) == expected


@pytest.mark.parametrize(
    ("kind", "prompt", "adds_bos", "expected"),
    [
        (
            "llamacpp",
            LLAMA_PROMPT,
            True,
            {"content": LLAMA_PROMPT.text.removeprefix("<|begin_of_text|>"), "add_special": True},
        ),
        ("llamacpp", LLAMA_PROMPT, False, {"content": LLAMA_PROMPT.text, "add_special": True}),
        (
            "vllm",
            LLAMA_PROMPT,
            False,
            {"model": "m", "prompt": LLAMA_PROMPT.text, "add_special_tokens": False},
        ),
        (
            "vllm",
            FormattedPrompt("hi", starts_with_bos=False),
            False,
            {"model": "m", "prompt": "hi", "add_special_tokens": True},
        ),
        ("max", LLAMA_PROMPT, False, None),
    ],
)
def test_tokenize_body_counts_the_prompt_as_the_completion_sends_it(
    kind: EngineKind, prompt: FormattedPrompt, adds_bos: bool, expected: dict[str, Any] | None
) -> None:
    body = build_tokenize_body(kind, "m", prompt, "<|begin_of_text|>", engine_adds_bos=adds_bos)
    assert body == expected


@pytest.mark.parametrize(
    ("sampling", "cache_prompt"),
    [
        ({"temperature": 0.0}, False),
        ({"temperature": 0.7, "seed": 3}, False),
        ({"temperature": 0.7}, True),
        ({}, True),
    ],
)
def test_llamacpp_reuses_prompt_cache_only_when_sampling(
    sampling: dict[str, Any], cache_prompt: bool
) -> None:
    """A reused prefix changes llama.cpp's numerics: deterministic requests recompute."""
    body = build_completion_body("llamacpp", "m", _request(**sampling), engine_adds_bos=False)
    assert body["cache_prompt"] is cache_prompt


SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("llamacpp", "json_schema", SCHEMA),
        ("vllm", "structured_outputs", {"json": SCHEMA}),
    ],
)
def test_json_schema_constraint_per_engine(kind: EngineKind, field: str, value: Any) -> None:
    request = CompletionRequest(
        prompt=LLAMA_PROMPT,
        sampling=SamplingParams(max_tokens=8),
        request_id="r",
        json_schema=SCHEMA,
    )
    body = build_completion_body(kind, "m", request, engine_adds_bos=False)
    assert body[field] == value


def test_max_gets_no_constraint_field_its_completions_would_refuse() -> None:
    """MAX's /v1/completions forbids unknown fields and has no structured output: a body
    with response_format is a 400 there (seen on 26.7)."""
    request = CompletionRequest(
        prompt=LLAMA_PROMPT,
        sampling=SamplingParams(max_tokens=8),
        request_id="r",
        json_schema=SCHEMA,
    )
    body = build_completion_body("max", "m", request, engine_adds_bos=False)
    assert set(body) == {"model", "prompt", "max_tokens", "stream", "stream_options", "stop"}


@pytest.mark.parametrize(
    ("kind", "payload", "adds_bos"),
    [
        ("llamacpp", {"tokens": [128000]}, True),
        ("llamacpp", {"tokens": []}, False),
        ("llamacpp", {"error": "x"}, None),
        ("max", {"usage": {"prompt_tokens": 2, "completion_tokens": 1}}, True),
        ("max", {"usage": {"prompt_tokens": 1, "completion_tokens": 1}}, False),
        ("max", {"choices": []}, None),
        ("max", None, None),
    ],
)
def test_bos_probe_reads_whether_the_engine_adds_its_own(
    kind: EngineKind, payload: Any, adds_bos: bool | None
) -> None:
    assert parse_bos_probe(kind, payload) is adds_bos


def test_bos_probe_bodies() -> None:
    assert build_bos_probe_body("llamacpp", "m", "<s>") == {"content": "", "add_special": True}
    assert build_bos_probe_body("max", "m", "<s>") == {
        "model": "m",
        "prompt": "<s>",
        "max_tokens": 1,
        "temperature": 0,
    }


def test_client_stop_strings_send_llama_cpp_to_its_native_endpoint() -> None:
    plain, stopped = _request(), _request(stop=("END",))
    assert (completion_path("llamacpp", plain), completion_path("llamacpp", stopped)) == (
        "/v1/completions",
        "/completion",
    )
    assert completion_path("vllm", stopped) == "/v1/completions"  # vLLM names its stop itself
    body = build_completion_body("llamacpp", "m", stopped, engine_adds_bos=False)
    assert body["n_predict"] == 8 and "max_tokens" not in body and "stream_options" not in body
    assert body["stop"] == ["<|eot_id|>", "<|eom_id|>", "END"] and body["stream"] is True


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"content": "Hel", "stop": False}, CompletionChunk("Hel")),
        ({"content": "", "stop": False}, None),
        (
            {
                "content": "",
                "stop": True,
                "stop_type": "word",
                "stopping_word": "END",
                "tokens_evaluated": 9,
                "tokens_predicted": 4,
            },
            CompletionChunk("", "stop", Usage(9, 4), "END"),
        ),
        (
            {
                "content": "",
                "stop": True,
                "stop_type": "eos",
                "stopping_word": "",
                "tokens_evaluated": 9,
                "tokens_predicted": 4,
            },
            CompletionChunk("", "stop", Usage(9, 4), None),
        ),
        (
            {"content": "x", "stop": True, "stop_type": "limit", "tokens_predicted": 8},
            CompletionChunk("x", "length", Usage(0, 8), None),
        ),
    ],
)
def test_parse_native_chunk(payload: dict[str, Any], expected: CompletionChunk | None) -> None:
    assert parse_native_completion_chunk(payload) == expected


@pytest.mark.parametrize("kind", ["vllm", "llamacpp", "max"])
def test_a_priority_goes_to_vllm_alone(kind: EngineKind) -> None:
    request = replace(_request(), priority=2)
    body = build_completion_body(kind, "m", request, engine_adds_bos=False)
    assert body.get("priority") == (2 if kind == "vllm" else None)
    assert "priority" not in build_completion_body(kind, "m", _request(), engine_adds_bos=False)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"total_slots": 4, "default_generation_settings": {}}, 4),
        ({"total_slots": 0}, None),
        ({"total_slots": True}, None),
        ({"total_slots": "4"}, None),
        ({}, None),
        (None, None),
        ([4], None),
    ],
)
def test_parse_total_slots(payload: Any, expected: int | None) -> None:
    assert parse_total_slots(payload) == expected


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (None, OVERLOAD_PAUSE_DEFAULT_S),
        ("2", 2.0),
        ("0.5", 0.5),
        ("3600", OVERLOAD_PAUSE_MAX_S),  # a long Retry-After must not park a replica
        ("-4", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", OVERLOAD_PAUSE_DEFAULT_S),
        ("nan", OVERLOAD_PAUSE_DEFAULT_S),
    ],
)
def test_overload_pause_follows_retry_after_within_bounds(
    retry_after: str | None, expected: float
) -> None:
    assert overload_pause_s(retry_after) == expected


@pytest.mark.parametrize("kind", ["vllm", "llamacpp", "max"])
def test_ignore_eos_goes_to_every_engine_and_drops_the_templates_stops(kind: EngineKind) -> None:
    plain = build_completion_body(kind, "m", _request(), engine_adds_bos=False)
    assert "ignore_eos" not in plain and plain["stop"] == ["<|eot_id|>", "<|eom_id|>"]
    body = build_completion_body(kind, "m", _request(ignore_eos=True), engine_adds_bos=False)
    assert body["ignore_eos"] is True and "stop" not in body
    own_stop = _request(ignore_eos=True, stop=("END",))
    assert stop_strings(own_stop) == ("END",)  # the client's own still end it
    assert build_completion_body(kind, "m", own_stop, engine_adds_bos=False)["stop"] == ["END"]
