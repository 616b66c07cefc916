"""A terminal chat with inferstack through the official openai SDK.

The whole conversation is sent with every turn and the reply is printed as it streams in.
Type /reset to forget the conversation, /exit (or Ctrl-D) to quit.

    python examples/chat_example.py
    python examples/chat_example.py --system "Answer in one sentence."
    python examples/chat_example.py --once "What is the capital of France?"
    printf 'Hi, I am Ada.\\nWhat is my name?\\n' | python examples/chat_example.py
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

import openai
from openai.types.chat import ChatCompletionMessageParam


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", default="http://localhost:8000/v1", help="%(default)s")
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
    client: openai.OpenAI, args: argparse.Namespace, messages: list[ChatCompletionMessageParam]
) -> str:
    stream = client.chat.completions.create(
        model=args.model,
        messages=messages,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        stream=True,
    )
    reply = []
    for chunk in stream:
        text = chunk.choices[0].delta.content if chunk.choices else None
        if text:
            print(text, end="", flush=True)
            reply.append(text)
    print()
    return "".join(reply)


def chat(client: openai.OpenAI, args: argparse.Namespace) -> int:
    start: list[ChatCompletionMessageParam] = []
    if args.system:
        start.append({"role": "system", "content": args.system})
    messages = list(start)
    client.models.list()  # fail now, not after the first question, when the stack is down
    failures = 0
    for line in user_lines(args):
        if line.strip() == "/exit":
            break
        if line.strip() == "/reset":
            messages = list(start)
            print("(conversation forgotten)")
            continue
        if not line.strip():
            continue
        messages.append({"role": "user", "content": line})
        if args.once is None:
            print(f"{args.model}> ", end="", flush=True)
        try:
            reply = stream_reply(client, args, messages)
        except openai.APIStatusError as error:  # e.g. 400 when the history outgrows the context
            print(error.message, file=sys.stderr)
            messages.pop()
            failures += 1
            continue
        messages.append({"role": "assistant", "content": reply})
    return 1 if failures else 0


def main() -> int:
    args = parse_args()
    client = openai.OpenAI(base_url=args.base_url, api_key="unused")  # the gateway takes any key
    try:
        return chat(client, args)
    except openai.APIConnectionError:
        sys.exit(f"inferstack is not reachable at {args.base_url} — run `make start`")
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
