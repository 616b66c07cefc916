"""The small differences between engines that speak OpenAI `/v1/completions`.

Pure functions: build the JSON body for an engine kind, read its chunks back. What each real
engine was seen to accept and do (llama.cpp b7010, vLLM 0.32 CPU build, MAX Serve 26.7):

- llama.cpp's OpenAI endpoint does not say which stop string ended a completion, and its
  native `/completion` does (`stop_type: "word"`, `stopping_word`), so a llama.cpp request
  carrying the client's own stop strings goes there: Anthropic clients are owed
  `stop_reason: "stop_sequence"` with the string. It always adds BOS itself.
- vLLM takes `add_special_tokens` (so the prompt's own BOS is the only one), structured
  outputs, and names the stop string in `stop_reason`.
- MAX Serve's `/v1/completions` forbids unknown fields and has no structured output (it is
  chat-only there, and refused outright on the CPU), tokenizes a text prompt with
  add_special_tokens=True (a BOS of its own for models that have one), and returns the stop
  string inside the text (see `stops.py`).
"""

from __future__ import annotations

from typing import Any

from api_server.chat.events import TokenLogprob, Usage
from api_server.chat.sampling import SamplingParams
from api_server.engines.logprobs import parse_legacy_logprobs, parse_token_logprobs
from api_server.engines.types import CompletionChunk, CompletionRequest
from api_server.prompts.base import FormattedPrompt
from api_server.registry import EngineKind

# Engines that add the model's BOS to a text prompt themselves and cannot be told not to:
# the gateway learns whether they do (`EngineReplica`) and then leaves its own BOS out.
ADDS_OWN_BOS_KINDS: tuple[EngineKind, ...] = ("llamacpp", "max")
# Engines that keep the stop string in the text they return.
ECHOES_STOP_KINDS: tuple[EngineKind, ...] = ("max",)
# Engines that constrain a raw completion to a JSON schema (structured outputs, a forced
# tool call's arguments): llama.cpp by a grammar, vLLM by its structured-output backend.
CONSTRAINED_DECODING_KINDS: tuple[EngineKind, ...] = ("llamacpp", "vllm")


def uses_native_completion(kind: EngineKind, request: CompletionRequest) -> bool:
    return kind == "llamacpp" and bool(request.sampling.stop)


def stop_strings(request: CompletionRequest) -> tuple[str, ...]:
    """The template's end-of-turn strings and the client's own, each once; with
    ignore_eos the client's alone (the template's would end the answer at its turn's end)."""
    if request.sampling.ignore_eos:
        return request.sampling.stop
    return tuple(dict.fromkeys((*request.prompt.stop, *request.sampling.stop)))


def completion_path(kind: EngineKind, request: CompletionRequest) -> str:
    return "/completion" if uses_native_completion(kind, request) else "/v1/completions"


def build_completion_body(
    kind: EngineKind,
    served_name: str,
    request: CompletionRequest,
    *,
    engine_adds_bos: bool,
) -> dict[str, Any]:
    """The streaming `/v1/completions` body for one request.

    The gateway always streams from the engine: one code path serves streaming and
    non-streaming clients, and a closed client connection stops generation at once.
    """
    sampling = request.sampling
    prompt_text = request.prompt.text
    body: dict[str, Any] = {
        "model": served_name,
        "prompt": prompt_text,
        "max_tokens": sampling.max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    stop = stop_strings(request)
    if stop:
        body["stop"] = list(stop)
    optional = {
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "top_k": sampling.top_k,
        "seed": sampling.seed,
        "presence_penalty": sampling.presence_penalty,
        "frequency_penalty": sampling.frequency_penalty,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    if sampling.ignore_eos:  # the same field on llama.cpp (both endpoints), vLLM and MAX
        body["ignore_eos"] = True

    if request.json_schema is not None:
        # llama.cpp turns `json_schema` into a grammar; vLLM (>= 0.10) takes structured
        # outputs. MAX Serve has none on raw completions: there a forced tool call is made by
        # the prompt alone (it ends inside the call), its arguments unconstrained, and a
        # structured output is refused before it gets here (generation/local.py).
        if kind == "llamacpp":
            body["json_schema"] = request.json_schema
        elif kind == "vllm":
            body["structured_outputs"] = {"json": request.json_schema}

    if sampling.logprobs is not None:
        # llama.cpp (and MAX, it seems) report nothing for 0 alternatives: they are asked for
        # one, and the front door keeps as many as the client asked for. vLLM's 0 is the
        # sampled token alone.
        body["logprobs"] = sampling.logprobs if kind == "vllm" else max(sampling.logprobs, 1)

    if kind in ADDS_OWN_BOS_KINDS and request.prompt.starts_with_bos and engine_adds_bos:
        # Drop our BOS text where the engine adds its own, so the model never sees two.
        body["prompt"] = prompt_text.removeprefix(request.bos_token)
    if kind == "vllm" and request.priority is not None:
        body["priority"] = request.priority  # refused by a vLLM not scheduling by priority
    if kind == "vllm":
        # The formatted prompt carries BOS already; tool-call markers such as [TOOL_CALLS]
        # and <|python_tag|> are special tokens that vLLM would otherwise drop from the text.
        if request.prompt.starts_with_bos:
            body["add_special_tokens"] = False
        body["skip_special_tokens"] = False
    elif kind == "llamacpp":
        # Reusing a slot's cached prefix changes the numerics, so a temperature-0 answer would
        # depend on what the engine served before (seen: "Paris" vs French nonsense with
        # SmolLM2). Deterministic requests recompute; sampled ones keep the speed-up.
        body["cache_prompt"] = not _is_deterministic(sampling)
        if uses_native_completion(kind, request):  # the same fields, native names
            body["n_predict"] = body.pop("max_tokens")
            if "logprobs" in body:
                body["n_probs"] = body.pop("logprobs")
            del body["model"], body["stream_options"]
    return body


def build_tokenize_body(
    kind: EngineKind,
    served_name: str,
    prompt: FormattedPrompt,
    bos_token: str,
    *,
    engine_adds_bos: bool,
) -> dict[str, Any] | None:
    """The `/tokenize` body that counts `prompt` as a completion would send it; None for
    engines without one (MAX Serve)."""
    if kind == "llamacpp":
        # As for completions: llama-server adds BOS itself when the model wants one.
        text = prompt.text
        if prompt.starts_with_bos and engine_adds_bos and bos_token:
            text = text.removeprefix(bos_token)
        return {"content": text, "add_special": True}
    if kind == "vllm":
        return {
            "model": served_name,
            "prompt": prompt.text,
            "add_special_tokens": not prompt.starts_with_bos,
        }
    return None


# The engine's own gauge of requests waiting for a slot, per kind.
QUEUE_DEPTH_METRICS: dict[EngineKind, str] = {
    "llamacpp": "llamacpp:requests_deferred",
    "vllm": "vllm:num_requests_waiting",
    "max": "maxserve_num_requests_queued",
}


# How long a replica that answered 429 counts as saturated: its Retry-After, within bounds
# (a minute-long Retry-After must not park a replica that drains in a second).
OVERLOAD_PAUSE_DEFAULT_S = 1.0
OVERLOAD_PAUSE_MAX_S = 10.0


def overload_pause_s(retry_after: str | None) -> float:
    try:
        seconds = float(retry_after) if retry_after is not None else OVERLOAD_PAUSE_DEFAULT_S
    except ValueError:  # an HTTP date, or garbage
        seconds = OVERLOAD_PAUSE_DEFAULT_S
    if seconds != seconds:  # NaN
        seconds = OVERLOAD_PAUSE_DEFAULT_S
    return min(max(seconds, 0.0), OVERLOAD_PAUSE_MAX_S)


def parse_total_slots(payload: Any) -> int | None:
    """llama.cpp's `GET /props`: `total_slots`, the requests it serves at once (-np)."""
    slots = payload.get("total_slots") if isinstance(payload, dict) else None
    if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
        return None
    return slots


def build_bos_probe_body(kind: EngineKind, served_name: str, bos_token: str) -> dict[str, Any]:
    """A request whose answer tells whether the engine adds BOS to a text prompt itself:
    llama.cpp tokenizes "" with its specials (a token back means yes); MAX, which has no
    /tokenize, completes the BOS text by one token (two prompt tokens mean yes)."""
    if kind == "llamacpp":
        return {"content": "", "add_special": True}
    return {"model": served_name, "prompt": bos_token, "max_tokens": 1, "temperature": 0}


def parse_bos_probe(kind: EngineKind, payload: Any) -> bool | None:
    if not isinstance(payload, dict):
        return None
    if kind == "llamacpp":
        tokens = payload.get("tokens")
        return bool(tokens) if isinstance(tokens, list) else None
    usage = _parse_usage(payload.get("usage"))
    return usage.prompt_tokens > 1 if usage is not None else None


def parse_queue_depth(kind: EngineKind, exposition: str) -> float | None:
    """Sum the engine's queue gauge over its label sets, from Prometheus text."""
    name = QUEUE_DEPTH_METRICS.get(kind)
    if name is None:
        return None
    total, seen = 0.0, False
    for line in exposition.splitlines():
        if line.startswith(name) and line[len(name) : len(name) + 1] in (" ", "{"):
            try:
                total += float(line.rsplit(" ", 1)[1])
            except (IndexError, ValueError):
                continue
            seen = True
    return total if seen else None


def _is_deterministic(sampling: SamplingParams) -> bool:
    return sampling.temperature == 0 or sampling.seed is not None


def parse_completion_chunk(payload: dict[str, Any]) -> CompletionChunk | None:
    """Read one SSE `data:` object of an OpenAI-style completions stream."""
    usage = _parse_usage(payload.get("usage"))
    choices = payload.get("choices") or []
    if not choices:
        return CompletionChunk(text="", usage=usage) if usage else None
    choice = choices[0]
    text = choice.get("text") or ""
    finish_reason = choice.get("finish_reason")
    if not isinstance(text, str) or not isinstance(finish_reason, str | None):
        raise TypeError("choice text and finish_reason must be strings")
    logprobs = _completion_logprobs(choice.get("logprobs"), text)
    if not text and finish_reason is None and usage is None and not logprobs:
        return None
    stop_reason = choice.get("stop_reason")  # vLLM: the stop string, or a stop token's id
    return CompletionChunk(
        text=text,
        finish_reason=finish_reason,
        usage=usage,
        stop_reason=stop_reason if isinstance(stop_reason, str) else None,
        logprobs=logprobs,
    )


def _completion_logprobs(raw: Any, text: str) -> tuple[TokenLogprob, ...]:
    """llama.cpp sends per-token objects under `content`; vLLM and MAX the legacy parallel
    lists."""
    if isinstance(raw, dict) and "content" in raw:
        return parse_token_logprobs(raw["content"])
    return parse_legacy_logprobs(raw, text)


def parse_native_completion_chunk(payload: dict[str, Any]) -> CompletionChunk | None:
    """Read one SSE `data:` object of llama.cpp's native `/completion` stream: `content`,
    then a last object with `stop: true`, how it stopped and the token counts."""
    text = payload.get("content") or ""
    if not isinstance(text, str):
        raise TypeError("content must be a string")
    logprobs = parse_token_logprobs(payload.get("completion_probabilities"))
    if not payload.get("stop"):
        return CompletionChunk(text=text, logprobs=logprobs) if text or logprobs else None
    stop_type = payload.get("stop_type")
    word = payload.get("stopping_word")
    return CompletionChunk(
        text=text,
        logprobs=logprobs,
        finish_reason="length" if stop_type == "limit" else "stop",
        usage=Usage(
            prompt_tokens=int(payload.get("tokens_evaluated") or 0),
            completion_tokens=int(payload.get("tokens_predicted") or 0),
        ),
        stop_reason=word if stop_type == "word" and isinstance(word, str) else None,
    )


def _parse_usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    return Usage(
        prompt_tokens=int(raw.get("prompt_tokens") or 0),
        completion_tokens=int(raw.get("completion_tokens") or 0),
    )
