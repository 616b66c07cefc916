"""A terminal chat with inferstack through the official anthropic SDK (the Messages API).

The same chat as chat_example.py: the whole conversation is sent with every turn and the
reply is printed as it streams in. Type /reset to forget the conversation, /exit (or Ctrl-D)
to quit. Note the base URL has no /v1: the SDK adds /v1/messages itself.

    python examples/anthropic_example.py
    python examples/anthropic_example.py --system "Answer in one sentence."
    python examples/anthropic_example.py --once "What is the capital of France?"
    printf 'Hi, I am Ada.\\nWhat is my name?\\n' | python examples/anthropic_example.py
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

import anthropic
from anthropic.types import MessageParam


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", default="http://localhost:8000", help="%(default)s")
    parser.add_argument("--model", default="SmolLM2-135M-Instruct", help="%(default)s")
    parser.add_argument("--system", help="a system prompt for the whole conversation")
    parser.add_argument("--temperature", type=float, help="0 for repeatable answers")
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--once", metavar="QUESTION", help="ask one question, print the reply")
    return parser.parse_args()


def user_lines(args: argparse.Namespace) -> Iterator[str]:
    """The user's turns: --once, else the terminal, else stdin one line at a time."""
    if args.once is not None:
        yield args.once
    elif sys.stdin.isatty():
        print("Chatting with", args.model, "- /reset to start over, /exit to quit.")
        while True:
            try:
                yield input("\nyou> ")
            except EOFError:
                return
    else:
        for line in sys.stdin:
            print(f"you> {line.rstrip()}")
            yield line.rstrip("\n")


def stream_reply(
    client: anthropic.Anthropic, args: argparse.Namespace, messages: list[MessageParam]
) -> str:
    # The system prompt is a parameter of its own here, not a message as in the OpenAI API.
    system = {"system": args.system} if args.system else {}
    with client.messages.stream(
        model=args.model,
        max_tokens=args.max_tokens,  # required by the Messages API
        messages=messages,
        **system,
        # Recent anthropic SDKs take no temperature argument; the API still reads the field.
        extra_body={} if args.temperature is None else {"temperature": args.temperature},
    ) as stream:
        reply = []
        for text in stream.text_stream:
            print(text, end="", flush=True)
            reply.append(text)
    print()
    return "".join(reply)


def chat(client: anthropic.Anthropic, args: argparse.Namespace) -> int:
    messages: list[MessageParam] = []
    client.models.list()  # fail now, not after the first question, when the stack is down
    failures = 0
    for line in user_lines(args):
        if line.strip() == "/exit":
            break
        if line.strip() == "/reset":
            messages = []
            print("(conversation forgotten)")
            continue
        if not line.strip():
            continue
        messages.append({"role": "user", "content": line})
        if args.once is None:
            print(f"{args.model}> ", end="", flush=True)
        try:
            reply = stream_reply(client, args, messages)
        except anthropic.APIStatusError as error:  # e.g. 400 when the history outgrows the context
            print(error.message, file=sys.stderr)
            messages.pop()
            failures += 1
            continue
        messages.append({"role": "assistant", "content": reply})
    return 1 if failures else 0


def main() -> int:
    args = parse_args()
    client = anthropic.Anthropic(base_url=args.base_url, api_key="unused")  # any key works
    try:
        return chat(client, args)
    except anthropic.APIConnectionError:
        sys.exit(f"inferstack is not reachable at {args.base_url} — run `make start`")
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
