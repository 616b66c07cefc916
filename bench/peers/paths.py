"""What both gateways are asked, and the configuration that points each at the fakes: pure.

Three paths, each sent to inferstack, LiteLLM and straight to the fake each relays to:

- ``chat_json``: a chat answered as JSON. inferstack builds a ChatML prompt for its local
  engine (the fake engine's ``/v1/completions``); LiteLLM, which has no such path, relays the
  chat to the fake OpenAI-style upstream. Each gateway's added latency is against its own fake.
- ``relay_json``: a hosted OpenAI-style model; both relay to the fake upstream.
- ``stream``: the same, streamed; the fake upstream echoes one chunk per word, so the user
  text is chosen to come back as ``STREAM_CHUNKS`` text chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from bench.loadgen import Target

INFERSTACK = "inferstack"
LITELLM = "litellm"
GATEWAYS = (INFERSTACK, LITELLM)
PATHS = ("chat_json", "relay_json", "stream")

LOCAL_MODEL = "bench-local"  # inferstack: local engine (ChatML over /v1/completions)
RELAY_MODEL = "bench-upstream"  # both: the fake OpenAI-style upstream
ENGINE_MODEL = "fake"
UPSTREAM_MODEL = "fake-echo"
MAX_TOKENS = 16
STREAM_CHUNKS = 20
USER_TEXT = "Say hello."
CHATML_PROMPT = f"<|im_start|>user\n{USER_TEXT}<|im_end|>\n<|im_start|>assistant\n"


def stream_user_text(chunks: int = STREAM_CHUNKS) -> str:
    """A user text the fake upstream echoes as ``chunks`` text chunks ("Echo:" is the first)."""
    return " ".join(f"w{i}" for i in range(1, chunks))


@dataclass(frozen=True)
class Urls:
    engine: str  # fake engine, e.g. http://127.0.0.1:9100
    upstream: str  # fake OpenAI-style upstream, e.g. http://127.0.0.1:9200
    inferstack: str
    litellm: str


def inferstack_models_yaml(engine_url: str, upstream_url: str) -> str:
    """inferstack's registry: the local-engine model and the relayed hosted model."""
    limits = {"context_length": 8192, "max_tokens": {"default": MAX_TOKENS, "limit": 64}}
    local = {
        "name": LOCAL_MODEL,
        "prompt_family": "chatml",
        "tool_call_syntax": "none",
        "engine": {"kind": "llamacpp", "served_name": ENGINE_MODEL, "urls": [engine_url]},
        **limits,
    }
    relay = {
        "name": RELAY_MODEL,
        "engine": {"kind": "openai", "served_name": UPSTREAM_MODEL, "urls": [upstream_url + "/v1"]},
        **limits,
    }
    return yaml.safe_dump({"default_model": LOCAL_MODEL, "models": [local, relay]}, sort_keys=False)


def litellm_config_yaml(upstream_url: str) -> str:
    """LiteLLM's proxy config: one model relayed to the fake upstream; no database and no
    master key, as inferstack runs by default (LiteLLM refuses that unless told it may)."""
    model = {
        "model_name": RELAY_MODEL,
        "litellm_params": {
            "model": f"openai/{UPSTREAM_MODEL}",
            "api_base": upstream_url + "/v1",
            "api_key": "sk-fake-upstream",
        },
    }
    config = {
        "model_list": [model],
        "litellm_settings": {"telemetry": False},
        "general_settings": {"dangerously_permit_weak_or_unset_master_key": True},
    }
    return yaml.safe_dump(config, sort_keys=False)


def chat_body(model: str, text: str, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": text}],
        "max_tokens": MAX_TOKENS if not stream else STREAM_CHUNKS + 4,
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    return body


def path_targets(path: str, urls: Urls) -> dict[str, Target]:
    """The three targets of one path: ``direct-<gateway>`` (each gateway's own fake) and one
    per gateway. Both direct keys name the same fake when both gateways relay to it."""
    chat = "/v1/chat/completions"
    if path == "chat_json":
        engine_body = {
            "model": ENGINE_MODEL,
            "prompt": CHATML_PROMPT,
            "max_tokens": MAX_TOKENS,
            "stop": ["<|im_end|>"],
            "stream": False,
        }
        return {
            f"direct-{INFERSTACK}": Target(
                "direct-engine", urls.engine + "/v1/completions", engine_body
            ),
            f"direct-{LITELLM}": Target(
                "direct-upstream", urls.upstream + chat, chat_body(UPSTREAM_MODEL, USER_TEXT, False)
            ),
            INFERSTACK: Target(
                INFERSTACK, urls.inferstack + chat, chat_body(LOCAL_MODEL, USER_TEXT, False)
            ),
            LITELLM: Target(LITELLM, urls.litellm + chat, chat_body(RELAY_MODEL, USER_TEXT, False)),
        }
    stream = path == "stream"
    text = stream_user_text() if stream else USER_TEXT
    direct = Target(
        "direct-upstream", urls.upstream + chat, chat_body(UPSTREAM_MODEL, text, stream)
    )
    return {
        f"direct-{INFERSTACK}": direct,
        f"direct-{LITELLM}": direct,
        INFERSTACK: Target(
            INFERSTACK, urls.inferstack + chat, chat_body(RELAY_MODEL, text, stream)
        ),
        LITELLM: Target(LITELLM, urls.litellm + chat, chat_body(RELAY_MODEL, text, stream)),
    }


def gateway_order(path_index: int) -> tuple[str, str]:
    """Alternate which gateway goes first, path by path, so neither always runs warmer."""
    return GATEWAYS if path_index % 2 == 0 else (GATEWAYS[1], GATEWAYS[0])
