"""A batch's input file, checked line by line before the batch exists: every refusal names
the line and says what is wrong with it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from api_server.batches.input import InputSummary, check_input, parse_input_line
from api_server.batchstore.lines import numbered_lines
from api_server.errors import InvalidRequestError

CHAT = "/v1/chat/completions"


def line(custom_id: object = "a", model: object = "m", **changes: object) -> bytes:
    item: dict[str, object] = {
        "custom_id": custom_id,
        "method": "POST",
        "url": CHAT,
        "body": {"model": model, "messages": [{"role": "user", "content": "hi"}]},
    }
    item.update(changes)
    return orjson.dumps(item)


async def lines_of(data: bytes, max_line_bytes: int = 1 << 20) -> AsyncIterator[tuple[int, bytes]]:
    async def one_piece() -> AsyncIterator[bytes]:
        yield data

    async for numbered in numbered_lines(one_piece(), max_line_bytes):
        yield numbered


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"{not json", "Line 3 of the input file: is not valid JSON"),
        (b"[1, 2]", "must be a JSON object with custom_id, method, url and body"),
        (line(custom_id=None), "needs a custom_id: a non-empty string"),
        (line(custom_id=""), "needs a custom_id: a non-empty string"),
        (line(custom_id=7), "needs a custom_id: a non-empty string"),
        (line(custom_id="x" * 513), "custom_id is longer than 512 characters"),
        (line(custom_id="a\x00b"), "custom_id holds a NUL character"),
        (line(model="m\x00"), "body.model must name the model"),
        (line(method="GET"), 'method must be "POST"'),
        (line(url="/v1/embeddings"), "url '/v1/embeddings' is not the batch's endpoint"),
        (line(body="hi"), "body must be a JSON object"),
        (line(model=None), "body.model must name the model"),
        (line(body={"model": "m", "stream": True}), "body.stream: a batch's answers are never"),
    ],
)
def test_a_bad_line_is_refused_naming_it(raw: bytes, problem: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        parse_input_line(3, raw, CHAT)
    assert problem in refused.value.message
    assert refused.value.message.startswith("Line 3 of the input file: ")
    assert refused.value.param == "input_file_id"


def test_a_good_line_parses() -> None:
    parsed = parse_input_line(1, line(body={"model": "m", "stream": False}), CHAT)
    assert (parsed.number, parsed.custom_id, parsed.body["model"]) == (1, "a", "m")


@pytest.mark.parametrize(
    ("data", "summary"),
    [
        (line("a") + b"\n" + line("b") + b"\n", InputSummary(2, "m", 1)),
        (b"\n\r\n" + line("a") + b"\r\n\n" + line("b"), InputSummary(2, "m", 3)),  # blanks
    ],
)
async def test_a_good_file_is_summed_up(data: bytes, summary: InputSummary) -> None:
    assert await check_input(lines_of(data), CHAT, 10) == summary


@pytest.mark.parametrize(
    ("data", "limit", "problem"),
    [
        (
            line("a") + b"\n" + line("a"),
            10,
            "Line 2 of the input file: custom_id 'a' repeats line 1's",
        ),
        (
            line("a") + b"\n" + line("b", model="other"),
            10,
            "Line 2 of the input file: model 'other' is not line 1's 'm': a batch runs one model",
        ),
        (line("a") + b"\n" + line("b") + b"\n" + line("c"), 2, "more than 2 requests"),
        (b"\n \n", 10, "The file holds no request"),
        (line("a") + b"\n" + line("b", body="x"), 10, "Line 2 of the input file: body must be"),
    ],
)
async def test_a_bad_file_is_refused_naming_the_line(data: bytes, limit: int, problem: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        await check_input(lines_of(data), CHAT, limit)
    assert problem in refused.value.message


async def test_a_line_past_the_body_limit_is_refused_naming_it() -> None:
    data = line("a") + b"\n" + line("b", body={"model": "m", "pad": "x" * 500})
    with pytest.raises(InvalidRequestError) as refused:
        await check_input(lines_of(data, max_line_bytes=200), CHAT, 10)
    assert refused.value.message == (
        "Line 2 of the input file: is longer than 200 bytes (max_body_bytes)"
    )
