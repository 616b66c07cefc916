"""JSON routes take JSON bodies only (415 otherwise, in the caller's envelope), and a
Content-Length that is not a plain ASCII number is no 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_server.deps import declared_length, is_json_media_type

CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "tiny", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
BODY = b'{"model": "tiny", "messages": [{"role": "user", "content": "hi"}]}'

# What a page on another site can send without a CORS preflight, and a typeless body.
REFUSED = [
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonx",
    "text/json",
    None,
]


@pytest.mark.parametrize("content_type", REFUSED)
def test_a_body_that_is_not_json_is_415_in_openais_envelope(
    client: TestClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/v1/chat/completions", content=BODY, headers=headers)
    assert response.status_code == 415, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("invalid_request_error", "unsupported_media_type")
    assert "application/json" in error["message"]


@pytest.mark.parametrize(
    "path", ["/v1/completions", "/v1/embeddings", "/api/chat", "/v1/title", "/v1/messages"]
)
def test_every_json_route_refuses_text_plain(client: TestClient, path: str) -> None:
    response = client.post(path, content=BODY, headers={"content-type": "text/plain"})
    assert response.status_code == 415, response.text
    body = response.json()
    if path.startswith("/v1/messages"):
        assert body["type"] == "error"
        assert body["error"]["type"] == "invalid_request_error"
    else:
        assert body["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON", "a/b+json"],
)
def test_json_with_parameters_and_plus_json_types_are_taken(
    client: TestClient, content_type: str
) -> None:
    if content_type == "a/b+json":  # only application/*+json
        content_type = "application/vnd.inferstack+json"
    response = client.post(
        "/v1/chat/completions", content=BODY, headers={"content-type": content_type}
    )
    assert response.status_code == 200, response.text


async def _raw_post(app: Any, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    """One POST straight into the ASGI app: header bytes arrive as sent (the test client
    re-encodes them as UTF-8)."""
    statuses: list[int] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": headers, "client": ("127.0.0.1", 1), "server": ("testserver", 80),
    }  # fmt: skip
    await app(scope, receive, send)
    return statuses[0]


@pytest.mark.parametrize("length", ["²", "³²", "+5", "0x10", "-1"])
def test_a_content_length_that_is_no_plain_number_is_no_500(
    client: TestClient, length: str
) -> None:
    # Latin-1, as HTTP/1.1 header bytes are read by uvicorn: b"\xb2" arrives as "²".
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", length.encode("latin-1")),
    ]
    assert client.portal is not None
    status = client.portal.call(_raw_post, client.app, "/v1/chat/completions", headers, BODY)
    assert status < 500


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", 12), ("0", 0), (None, None), ("²", None), ("١٢", None), ("+5", None), ("", None)],
)
def test_declared_length_takes_ascii_digits_only(value: str | None, expected: int | None) -> None:
    assert declared_length(value) == expected


def test_json_media_types() -> None:
    assert is_json_media_type("application/json")
    assert is_json_media_type("application/problem+json; charset=utf-8")
    assert not is_json_media_type("text/plain+json")
    assert not is_json_media_type(None)
