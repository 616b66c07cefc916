"""Multipart uploads streamed to a temporary file: the SDK's form read part by part, the
file's bytes exact, and a body refused as soon as it is malformed or past its limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient

from api_server.error_handlers import install_error_handlers
from api_server.files_api.upload import received_upload
from api_server.http import json_response

LIMIT = 1000
BOUNDARY = "b0undary"


def upload_app() -> FastAPI:
    app = FastAPI()

    @app.post("/upload")
    async def upload(request: Request) -> Response:
        async with received_upload(request, LIMIT) as received:
            data = received.path.read_bytes()
            return json_response(
                {
                    "filename": received.filename,
                    "bytes": received.bytes,
                    "fields": received.fields,
                    "data": data.decode("latin-1"),
                }
            )

    install_error_handlers(app)
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(upload_app()) as test_client:
        yield test_client


def form(*parts: bytes, end: bool = True) -> bytes:
    body = b"".join(b"--" + BOUNDARY.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    return body + (b"--" + BOUNDARY.encode() + b"--\r\n" if end else b"")


def field(name: str, value: bytes) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value


def file_part(data: bytes, name: str = "file", filename: str = "in.jsonl") -> bytes:
    head = f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
    return head.encode() + b"Content-Type: application/jsonl\r\n\r\n" + data


def post(client: TestClient, body: bytes, chunked: bool = False) -> dict[str, object]:
    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    content: bytes | Iterator[bytes] = body
    if chunked:  # no Content-Length: only the streamed count can stop it
        content = iter([body[i : i + 100] for i in range(0, len(body), 100)])
    answer = client.post("/upload", content=content, headers=headers)
    return {"status": answer.status_code, **answer.json()}


def test_the_sdks_form_is_read(client: TestClient) -> None:
    data = b'{"a": 1}\r\n--b0undar\r\n{"b": 2}\n'  # almost a boundary, in the data
    answer = post(client, form(field("purpose", b"batch"), file_part(data)))
    assert answer == {
        "status": 200,
        "filename": "in.jsonl",
        "bytes": len(data),
        "fields": {"purpose": "batch"},
        "data": data.decode(),
    }


@pytest.mark.parametrize("chunked", [False, True])
def test_a_file_past_the_limit_is_refused(client: TestClient, chunked: bool) -> None:
    answer = post(client, form(field("purpose", b"batch"), file_part(b"x" * (LIMIT + 1))), chunked)
    assert answer["status"] == 413
    assert post(client, form(file_part(b"x" * LIMIT)), chunked)["bytes"] == LIMIT


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (form(field("purpose", b"batch")), "The form has no `file` part with a filename"),
        (form(file_part(b"a"), file_part(b"b")), "more than one `file` part"),
        (form(file_part(b"a"), end=False), "ended before its last part"),
        (form(b"X-Nothing: here\r\n\r\nv"), "has no Content-Disposition name"),
        (form(*[field(f"f{i}", b"v") for i in range(17)], file_part(b"a")), "more than 16 parts"),
        (form(field("purpose", b"x" * 70_000)), "part is too long"),
    ],
)
def test_a_bad_form_is_a_400_saying_why(client: TestClient, body: bytes, message: str) -> None:
    answer = post(client, body)
    assert answer["status"] == 400
    assert message in answer["error"]["message"]  # type: ignore[index]


def test_only_multipart_with_a_boundary_is_read(client: TestClient) -> None:
    as_json = client.post("/upload", json={"purpose": "batch"})
    assert as_json.status_code == 415
    no_boundary = client.post(
        "/upload", content=b"x", headers={"content-type": "multipart/form-data"}
    )
    assert no_boundary.status_code == 400
    assert "names no boundary" in no_boundary.json()["error"]["message"]
