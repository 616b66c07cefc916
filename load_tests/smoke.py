"""`python -m load_tests.smoke --url URL`: a seconds-long check of a stack already running.

Five checks, each one line: health, the models list, one chat completion, one streamed
completion and one error (an unknown model answers 404 in OpenAI's envelope). Exits 1 when
any check fails, naming it; `make smoke` runs it. `--api-key` defaults to $INFERSTACK_API_KEY
(empty: no Authorization header, as a stack in auth mode "none" wants).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable

import httpx

UNKNOWN_MODEL = "no-such-model-smoke-check"


class SmokeFailure(Exception):
    """A check's answer was not what a healthy stack gives."""


def check_health(client: httpx.Client, model: str) -> str:
    response = client.get("/health")
    _expect_status(response, 200)
    return "200"


def check_models(client: httpx.Client, model: str) -> str:
    response = client.get("/v1/models")
    _expect_status(response, 200)
    ids = [entry.get("id") for entry in response.json().get("data", [])]
    if model not in ids:
        raise SmokeFailure(f"{model!r} not listed (models: {ids})")
    return f"{len(ids)} models"


def check_chat(client: httpx.Client, model: str) -> str:
    response = client.post("/v1/chat/completions", json=_chat_body(model, stream=False))
    _expect_status(response, 200)
    content = response.json()["choices"][0]["message"]["content"]
    if not isinstance(content, str) or not content:
        raise SmokeFailure(f"empty answer: {response.text[:200]}")
    return f"{len(content)} chars"


def check_stream(client: httpx.Client, model: str) -> str:
    chunks, done = 0, False
    with client.stream(
        "POST", "/v1/chat/completions", json=_chat_body(model, stream=True)
    ) as response:
        _expect_status(response, 200)
        for line in response.iter_lines():
            if line == "data: [DONE]":
                done = True
            elif line.startswith("data: "):
                if "error" in json.loads(line[6:]):
                    raise SmokeFailure(f"error event: {line[:200]}")
                chunks += 1
    if not done or chunks == 0:
        raise SmokeFailure(f"{chunks} chunks, [DONE] {'seen' if done else 'missing'}")
    return f"{chunks} chunks"


def check_error(client: httpx.Client, model: str) -> str:
    response = client.post("/v1/chat/completions", json=_chat_body(UNKNOWN_MODEL, stream=False))
    _expect_status(response, 404)
    error = response.json().get("error")
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        raise SmokeFailure(f"not OpenAI's error envelope: {response.text[:200]}")
    return "404 in OpenAI's envelope"


CHECKS: dict[str, Callable[[httpx.Client, str], str]] = {
    "health": check_health,
    "models": check_models,
    "chat": check_chat,
    "stream": check_stream,
    "error": check_error,
}


def run_checks(client: httpx.Client, model: str) -> list[str]:
    """One line per check; the failed ones start with FAIL."""
    lines = []
    for name, check in CHECKS.items():
        try:
            lines.append(f"ok    {name}: {check(client, model)}")
        except (SmokeFailure, httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as e:
            lines.append(f"FAIL  {name}: {type(e).__name__}: {e}")
    return lines


def _chat_body(model: str, *, stream: bool) -> dict[str, object]:
    messages = [{"role": "user", "content": "Say hello."}]
    return {"model": model, "messages": messages, "max_tokens": 8, "stream": stream}


def _expect_status(response: httpx.Response, status: int) -> None:
    if response.status_code != status:
        body = response.read().decode(errors="replace")[:200]
        raise SmokeFailure(f"HTTP {response.status_code}, expected {status}: {body}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load_tests.smoke", description=__doc__)
    parser.add_argument("--url", default="http://localhost:8000", help="the gateway")
    parser.add_argument("--model", default="SmolLM2-135M-Instruct")
    parser.add_argument("--api-key", default=os.environ.get("INFERSTACK_API_KEY", ""))
    parser.add_argument("--timeout", type=float, default=60, help="seconds per request")
    args = parser.parse_args(argv)
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    with httpx.Client(base_url=args.url, headers=headers, timeout=args.timeout) as client:
        lines = run_checks(client, args.model)
    print("\n".join(lines))
    failed = [line for line in lines if line.startswith("FAIL")]
    print(
        f"smoke {args.url}: {'FAIL' if failed else 'PASS'} ({len(failed)} of {len(lines)} failed)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
