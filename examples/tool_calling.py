"""A complete tool-calling loop through the official openai SDK.

Two local Python functions are offered to the model as tools. When the model calls one, the
call is run here and its result is sent back (role "tool", with the call's id); the loop
ends when the model answers in words.

    python examples/tool_calling.py
    python examples/tool_calling.py --force-tool get_weather    # makes even SmolLM2 call it
    python examples/tool_calling.py --base-url http://gpu-host:8000/v1 \\
        --model Llama-3.1-8B-Instruct "Is it warmer in Paris or Tokyo, in Fahrenheit?"
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import openai
from openai.types.chat import (
    ChatCompletionMessageParam,
    ChatCompletionMessageToolCallParam,
    ChatCompletionToolChoiceOptionParam,
    ChatCompletionToolParam,
)


def get_weather(city: str, unit: str = "celsius") -> dict[str, Any]:
    """Stands in for a real weather service."""
    celsius = {"paris": 18, "london": 14, "tokyo": 24}.get(city.lower(), 20)
    temperature = celsius if unit == "celsius" else convert_temperature(celsius, unit)["value"]
    return {"city": city, "temperature": temperature, "unit": unit, "sky": "partly cloudy"}


def convert_temperature(value: float, to: str) -> dict[str, Any]:
    converted = value * 9 / 5 + 32 if to == "fahrenheit" else (value - 32) * 5 / 9
    return {"value": round(converted, 1), "unit": to}


FUNCTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "get_weather": get_weather,
    "convert_temperature": convert_temperature,
}
UNIT = {"type": "string", "enum": ["celsius", "fahrenheit"]}
TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather in a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "unit": UNIT},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "convert_temperature",
            "description": "Convert a temperature to celsius or fahrenheit.",
            "parameters": {
                "type": "object",
                "properties": {"value": {"type": "number"}, "to": UNIT},
                "required": ["value", "to"],
            },
        },
    },
]
NO_CALL_NOTE = """\
The model answered without calling a tool. Small models such as SmolLM2-135M seldom decide
to; a tool-capable model (Llama-3.1-8B-Instruct, Devstral) would call get_weather with
{"city": "Paris"}, read the result and answer from it."""
FORCE_NOTE = """\
Run this again with --force-tool get_weather: tool_choice then names the function, and the
gateway starts the model's reply with the call, so that even a small model makes it."""
BAD_ARGUMENTS_NOTE = """\
The call's arguments did not fit the function, so the tool sent back an error. A small
model such as SmolLM2-135M makes the call when forced but cannot fill it in; a tool-capable
model (Llama-3.1-8B-Instruct, Devstral) writes {"city": "Paris"} from the question, or
corrects its call after such an error, and then answers from the result."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("question", nargs="?", default="What is the weather in Paris right now?")
    parser.add_argument("--base-url", default="http://localhost:8000/v1", help="%(default)s")
    parser.add_argument("--model", default="SmolLM2-135M-Instruct", help="%(default)s")
    parser.add_argument("--temperature", type=float, help="0 for repeatable answers")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument(
        "--force-tool", choices=sorted(FUNCTIONS), help="make the first reply call this tool"
    )
    parser.add_argument("--max-rounds", type=int, default=3, help="model turns that call tools")
    return parser.parse_args()


def run_tool(name: str, arguments: str) -> dict[str, Any]:
    try:
        return FUNCTIONS[name](**json.loads(arguments))
    except (KeyError, TypeError, ValueError) as error:
        # Reported to the model as the result: a capable model corrects its call.
        return {"error": f"{type(error).__name__}: {error}"}


def tool_loop(client: openai.OpenAI, args: argparse.Namespace) -> None:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": args.question}]
    tool_choice: ChatCompletionToolChoiceOptionParam = "auto"
    if args.force_tool:
        tool_choice = {"type": "function", "function": {"name": args.force_tool}}
    called = bad_arguments = False
    for _ in range(args.max_rounds):
        reply = client.chat.completions.create(
            model=args.model,
            messages=messages,
            tools=TOOLS,
            tool_choice=tool_choice,
            temperature=args.temperature,
            max_tokens=args.max_tokens,
        )
        message = reply.choices[0].message
        if not message.tool_calls:
            print(f"answer: {message.content}")
            if not called:
                print(f"\n{NO_CALL_NOTE}" + ("" if args.force_tool else f"\n{FORCE_NOTE}"))
            elif bad_arguments:
                print(f"\n{BAD_ARGUMENTS_NOTE}")
            return
        # The assistant turn with its calls goes back into the history, then one tool
        # message per call, matched to it by tool_call_id.
        calls: list[ChatCompletionMessageToolCallParam] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.function.name, "arguments": call.function.arguments},
            }
            for call in message.tool_calls
            if call.type == "function"
        ]
        messages.append({"role": "assistant", "content": message.content, "tool_calls": calls})
        for call in calls:
            print(f"-> the model calls: {json.dumps(call)}")
            result = run_tool(call["function"]["name"], call["function"]["arguments"])
            bad_arguments = bad_arguments or "error" in result
            tool_message: ChatCompletionMessageParam = {
                "role": "tool",
                "tool_call_id": call["id"],
                "content": json.dumps(result),
            }
            print(f"<- we send back:    {json.dumps(tool_message)}")
            messages.append(tool_message)
        called = True
        tool_choice = "auto"  # forcing every turn would never let the model answer
    print(f"stopped: the model was still calling tools after {args.max_rounds} rounds")


def main() -> int:
    args = parse_args()
    client = openai.OpenAI(base_url=args.base_url, api_key="unused")  # the gateway takes any key
    try:
        tool_loop(client, args)
    except openai.APIConnectionError:
        sys.exit(f"inferstack is not reachable at {args.base_url} — run `make start`")
    except openai.APIStatusError as error:
        sys.exit(error.message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
