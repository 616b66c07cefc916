"""A batch's input file: each line one request, `{custom_id, method, url, body}`, checked
whole before the batch is created (a 400 naming the first bad line), and read again line by
line by the runner."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from api_server.batchstore.lines import LineTooLongError
from api_server.batchstore.records import storable
from api_server.errors import InvalidRequestError

MAX_CUSTOM_ID_CHARS = 512
PARAM = "input_file_id"


@dataclass(frozen=True, slots=True)
class InputLine:
    number: int  # 1-based line number in the file
    custom_id: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class InputSummary:
    requests: int
    model: str
    first_line: int  # where the model is first named


def is_blank(raw: bytes) -> bool:
    """Blank lines (a trailing newline, an empty line between requests) hold no request."""
    return not raw.strip()


def parse_input_line(number: int, raw: bytes, endpoint: str) -> InputLine:
    """One line as a request for `endpoint`, or InvalidRequestError naming the line."""
    try:
        item = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _bad(number, "is not valid JSON") from None
    if not isinstance(item, dict):
        raise _bad(number, "must be a JSON object with custom_id, method, url and body")
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        raise _bad(number, "needs a custom_id: a non-empty string")
    if len(custom_id) > MAX_CUSTOM_ID_CHARS:
        raise _bad(number, f"custom_id is longer than {MAX_CUSTOM_ID_CHARS} characters")
    if not storable(custom_id):
        raise _bad(number, "custom_id holds a NUL character")
    if item.get("method") != "POST":
        raise _bad(number, 'method must be "POST"')
    if item.get("url") != endpoint:
        raise _bad(number, f"url {item.get('url')!r} is not the batch's endpoint {endpoint}")
    body = item.get("body")
    if not isinstance(body, dict):
        raise _bad(number, "body must be a JSON object: the request for the endpoint")
    model = body.get("model")
    if not isinstance(model, str) or not model or not storable(model):
        raise _bad(number, "body.model must name the model")
    if body.get("stream") not in (None, False):
        raise _bad(number, "body.stream: a batch's answers are never streamed")
    return InputLine(number, custom_id, body)


def custom_id_of(raw: bytes, number: int) -> str:
    """A line's custom_id as best it can be read (a line that no longer parses: by number)."""
    with contextlib.suppress(orjson.JSONDecodeError):
        item = orjson.loads(raw)
        if isinstance(item, dict) and isinstance(item.get("custom_id"), str):
            return str(item["custom_id"])
    return f"line-{number}"


async def check_input(
    lines: AsyncIterator[tuple[int, bytes]], endpoint: str, max_requests: int
) -> InputSummary:
    """Every line of the file checked (as `parse_input_line`, plus: custom_ids unique, one
    model for the whole batch as OpenAI requires, at most `max_requests` requests)."""
    seen: dict[str, int] = {}
    model: str | None = None
    first_line = 0
    try:
        async for number, raw in lines:
            if is_blank(raw):
                continue
            line = parse_input_line(number, raw, endpoint)
            if (earlier := seen.get(line.custom_id)) is not None:
                raise _bad(number, f"custom_id {line.custom_id!r} repeats line {earlier}'s")
            seen[line.custom_id] = number
            if len(seen) > max_requests:
                raise InvalidRequestError(
                    f"The file holds more than {max_requests} requests (batch_max_lines)",
                    param=PARAM,
                )
            named = line.body["model"]
            if model is None:
                model, first_line = named, number
            elif named != model:
                raise _bad(
                    number,
                    f"model {named!r} is not line {first_line}'s {model!r}: a batch runs one model",
                )
    except LineTooLongError as exc:
        raise _bad(exc.line, f"is longer than {exc.limit} bytes (max_body_bytes)") from None
    if model is None:
        raise InvalidRequestError("The file holds no request", param=PARAM)
    return InputSummary(len(seen), model, first_line)


def _bad(number: int, problem: str) -> InvalidRequestError:
    return InvalidRequestError(f"Line {number} of the input file: {problem}", param=PARAM)
