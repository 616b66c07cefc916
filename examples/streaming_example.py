"""One streamed chat completion: tokens printed as they arrive, then time to first token,
tokens per second and the token usage the gateway reports at the end of the stream.

    python examples/streaming_example.py
    python examples/streaming_example.py "Write a haiku about GPUs." --max-tokens 64
"""

from __future__ import annotations

import argparse
import sys
import time

import openai


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("prompt", nargs="?", default="Explain what a GPU does in two sentences.")
    parser.add_argument("--base-url", default="http://localhost:8000/v1", help="%(default)s")
    parser.add_argument("--model", default="SmolLM2-135M-Instruct", help="%(default)s")
    parser.add_argument("--temperature", type=float, help="0 for repeatable answers")
    parser.add_argument("--max-tokens", type=int, default=128)
    return parser.parse_args()


def stream_once(client: openai.OpenAI, args: argparse.Namespace) -> None:
    start = time.perf_counter()
    stream = client.chat.completions.create(
        model=args.model,
        messages=[{"role": "user", "content": args.prompt}],
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        stream=True,
        # One last chunk, with no choices, carries the usage of the whole request.
        stream_options={"include_usage": True},
    )
    first_token_at = None
    usage = None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        text = chunk.choices[0].delta.content if chunk.choices else None
        if text:
            first_token_at = first_token_at or time.perf_counter()
            print(text, end="", flush=True)
    end = time.perf_counter()
    print("\n")

    if first_token_at is None or usage is None:
        print("the model returned no text")
        return
    tokens = usage.completion_tokens
    # Decoding speed: the tokens after the first over the time after the first.
    decode_s = end - first_token_at
    rate = f"{(tokens - 1) / decode_s:.1f}" if tokens > 1 and decode_s > 0 else "n/a"
    print(f"time to first token: {(first_token_at - start) * 1000:.0f} ms")
    print(f"tokens/s:            {rate} ({tokens} tokens in {end - start:.2f} s)")
    print(
        f"usage:               {usage.prompt_tokens} prompt + {usage.completion_tokens} "
        f"completion = {usage.total_tokens} tokens"
    )


def main() -> int:
    args = parse_args()
    client = openai.OpenAI(base_url=args.base_url, api_key="unused")  # the gateway takes any key
    try:
        stream_once(client, args)
    except openai.APIConnectionError:
        sys.exit(f"inferstack is not reachable at {args.base_url} — run `make start`")
    except openai.APIStatusError as error:
        sys.exit(error.message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
