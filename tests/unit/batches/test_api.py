"""The Files and Batch APIs end to end through the official openai SDK, on a real PostgreSQL
and the folder object store, lines answered by the scripted engine: upload, create, run,
download; validation naming the line; cancel; pagination; and tenants kept apart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest
from fastapi.testclient import TestClient

from api_server.auth.keys import generate_key, hash_key
from tests.batch_tenancy import assert_hidden_from
from tests.unit.auth.fakes import ListSink
from tests.unit.batch_pg import empty_tables, pg_server, run_batches, storage_gateway
from tests.unit.scripted_engine import ScriptedEngine
from tests.unit.stackctl.test_postgres import Server

__all__ = ["empty_tables", "pg_server"]

KEY_A, KEY_B = generate_key(), generate_key()


def chat_line(custom_id: str, model: str = "tiny", **body: Any) -> bytes:
    request = {"model": model, "messages": [{"role": "user", "content": custom_id}], **body}
    line = {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": request,
    }
    return orjson.dumps(line) + b"\n"


def jsonl(*lines: bytes) -> bytes:
    return b"".join(lines)


@pytest.fixture
def gateway(
    models_file: Path, empty_tables: Server, tmp_path: Path, engine: ScriptedEngine
) -> Iterator[TestClient]:
    settings = {
        "auth_mode": "api_key",
        "static_api_keys": ["sha256:" + hash_key(KEY_A), "sha256:" + hash_key(KEY_B)],
    }
    with storage_gateway(models_file, empty_tables, tmp_path / "objects", **settings) as client:
        yield client


def sdk(client: TestClient, key: str = KEY_A) -> openai.OpenAI:
    return openai.OpenAI(
        base_url="http://testserver/v1", api_key=key, http_client=client, max_retries=0
    )


def test_a_batch_from_upload_to_results(gateway: TestClient, tmp_path: Path) -> None:
    client = sdk(gateway)
    data = jsonl(*(chat_line(f"req-{i}", max_tokens=8) for i in range(3)))
    uploaded = client.files.create(file=("prompts.jsonl", data), purpose="batch")
    assert (uploaded.object, uploaded.purpose, uploaded.bytes) == ("file", "batch", len(data))
    assert uploaded.filename == "prompts.jsonl" and uploaded.id.startswith("file-")
    assert client.files.retrieve(uploaded.id) == uploaded
    assert client.files.content(uploaded.id).content == data
    # In the object store under the owner's folder, named by its id.
    (stored,) = (tmp_path / "objects" / "files").rglob(uploaded.id)
    assert stored.read_bytes() == data

    batch = client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata={"job": "nightly"},
    )
    assert (batch.status, batch.model, batch.metadata) == ("validating", "tiny", {"job": "nightly"})
    assert batch.request_counts is not None and batch.request_counts.total == 3
    assert batch.expires_at == batch.created_at + 24 * 3600

    assert run_batches(gateway) == [batch.id]
    done = client.batches.retrieve(batch.id)
    assert done.status == "completed" and done.error_file_id is None
    assert done.request_counts is not None and done.request_counts.completed == 3
    assert done.completed_at is not None and done.output_file_id is not None
    output = client.files.content(done.output_file_id).text.splitlines()
    results = [orjson.loads(line) for line in output]
    assert [r["custom_id"] for r in results] == ["req-0", "req-1", "req-2"]
    assert all(r["response"]["status_code"] == 200 and r["error"] is None for r in results)
    content = results[0]["response"]["body"]["choices"][0]["message"]["content"]
    assert content == "The capital of France is Paris."
    with pytest.raises(openai.BadRequestError, match="is completed; only a validating or"):
        client.batches.cancel(batch.id)
    out = client.files.retrieve(done.output_file_id)
    assert (out.purpose, out.filename) == ("batch_output", f"{batch.id}_output.jsonl")
    assert out.bytes == len(client.files.content(done.output_file_id).content)


def test_the_input_is_checked_before_the_batch_exists(gateway: TestClient) -> None:
    client = sdk(gateway)

    def create(data: bytes, endpoint: str = "/v1/chat/completions", window: str = "24h") -> str:
        file_id = client.files.create(file=("in.jsonl", data), purpose="batch").id
        with pytest.raises(openai.BadRequestError) as refused:
            client.batches.create(
                input_file_id=file_id,
                endpoint=endpoint,  # type: ignore[arg-type]
                completion_window=window,  # type: ignore[arg-type]
            )
        message: str = refused.value.body["message"]  # type: ignore[index]
        return message

    good = chat_line("a")
    assert create(good + b"{oops\n") == "Line 2 of the input file: is not valid JSON"
    assert create(good + chat_line("a")) == (
        "Line 2 of the input file: custom_id 'a' repeats line 1's"
    )
    assert "Line 2 of the input file: model 'tiny-chatml'" in create(
        good + chat_line("b", model="tiny-chatml")
    )
    assert create(chat_line("a", model="nope")).startswith(
        "Line 1 of the input file: The model 'nope' does not exist"
    )
    assert "is not one a batch can run" in create(good, endpoint="/v1/moderations")
    assert "completion_window must be one of 24h" in create(good, window="1h")
    assert client.batches.list().data == []

    with pytest.raises(openai.NotFoundError):
        client.batches.create(
            input_file_id="file-none", endpoint="/v1/chat/completions", completion_window="24h"
        )


def test_uploads_are_checked(gateway: TestClient, models_file: Path, tmp_path: Path) -> None:
    client = sdk(gateway)
    with pytest.raises(openai.BadRequestError, match="purpose must be one of batch"):
        client.files.create(file=("in.jsonl", chat_line("a")), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="The file is empty"):
        client.files.create(file=("in.jsonl", b""), purpose="batch")
    as_json = gateway.post("/v1/files", json={"purpose": "batch"}, headers=auth(KEY_A))
    assert as_json.status_code == 415
    assert as_json.json()["error"]["code"] == "unsupported_media_type"


def test_an_upload_past_the_limit_is_refused(
    models_file: Path, empty_tables: Server, tmp_path: Path
) -> None:
    with storage_gateway(
        models_file, empty_tables, tmp_path / "objects", batch_max_file_bytes=1000
    ) as gateway:
        client = sdk(gateway)
        with pytest.raises(openai.APIStatusError) as refused:
            client.files.create(file=("in.jsonl", b"x" * 1001), purpose="batch")
        assert refused.value.status_code == 413
        assert client.files.create(file=("in.jsonl", b"x" * 1000), purpose="batch").bytes == 1000


def test_a_batch_cancelled_before_it_ran(gateway: TestClient) -> None:
    client = sdk(gateway)
    file_id = client.files.create(
        file=("in.jsonl", chat_line("a") + chat_line("b")), purpose="batch"
    ).id
    batch = client.batches.create(
        input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    cancelling = client.batches.cancel(batch.id)
    assert cancelling.status == "cancelling" and cancelling.cancelling_at is not None
    assert client.batches.cancel(batch.id).status == "cancelling"  # again: as it is
    run_batches(gateway)
    done = client.batches.retrieve(batch.id)
    assert (done.status, done.output_file_id) == ("cancelled", None)
    assert done.error_file_id is not None
    errors = [orjson.loads(line) for line in client.files.content(done.error_file_id).iter_lines()]
    assert [(e["custom_id"], e["error"]["code"]) for e in errors] == [
        ("a", "batch_cancelled"),
        ("b", "batch_cancelled"),
    ]
    assert client.batches.cancel(batch.id).status == "cancelled"  # as it is


def test_batches_page_newest_first(gateway: TestClient) -> None:
    client = sdk(gateway)
    file_id = client.files.create(file=("in.jsonl", chat_line("a")), purpose="batch").id
    created = [
        client.batches.create(
            input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
        ).id
        for _ in range(3)
    ]
    first = client.batches.list(limit=2)
    assert [b.id for b in first.data] == created[::-1][:2] and first.has_more
    # The SDK follows the cursor (after=<last id>) page by page.
    assert [b.id for b in client.batches.list(limit=2)] == created[::-1]
    files = client.files.list(order="asc")
    assert [f.id for f in files.data] == [file_id]


def test_tenants_never_see_each_others_files_or_batches(gateway: TestClient) -> None:
    alice, bob = sdk(gateway, KEY_A), sdk(gateway, KEY_B)
    file_id = alice.files.create(file=("in.jsonl", chat_line("a")), purpose="batch").id
    batch = alice.batches.create(
        input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert_hidden_from(bob, file_id, batch.id)
    assert bob.files.list().data == [] and bob.batches.list().data == []
    assert bob.batches.list(after=batch.id).data == []
    # Still all there for their owner.
    assert alice.files.retrieve(file_id).id == file_id
    assert alice.batches.retrieve(batch.id).status == "validating"


def test_batch_lines_are_logged_as_the_creators_requests(
    models_file: Path, empty_tables: Server, tmp_path: Path, engine: ScriptedEngine
) -> None:
    sink = ListSink()
    with storage_gateway(
        models_file, empty_tables, tmp_path / "objects", request_log=sink
    ) as gateway:
        client = sdk(gateway, "unused")  # auth off: every caller is anonymous, sharing
        file_id = client.files.create(file=("in.jsonl", chat_line("x")), purpose="batch").id
        batch = client.batches.create(
            input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        run_batches(gateway)
    (row,) = [row for row in sink.records if row.endpoint == "/v1/chat/completions"]
    assert (row.tenant, row.agent_id, row.client_request_id) == (None, batch.id, "x")


def test_the_lifespans_runner_runs_batches_by_itself(
    models_file: Path, empty_tables: Server, tmp_path: Path, engine: ScriptedEngine
) -> None:
    settings = {"batch_runner_enabled": True, "batch_poll_interval_s": 0.05, "batch_lease_s": 5}
    with storage_gateway(models_file, empty_tables, tmp_path / "objects", **settings) as gateway:
        client = sdk(gateway, "unused")
        file_id = client.files.create(file=("in.jsonl", chat_line("x")), purpose="batch").id
        batch = client.batches.create(
            input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        deadline = time.monotonic() + 30
        while (batch := client.batches.retrieve(batch.id)).status != "completed":
            assert time.monotonic() < deadline, batch
            time.sleep(0.05)  # a poll with a deadline: the runner is on its own loop
    assert batch.request_counts is not None and batch.request_counts.completed == 1


def test_deleting_a_file_removes_its_row_and_object(gateway: TestClient, tmp_path: Path) -> None:
    client = sdk(gateway)
    file_id = client.files.create(file=("in.jsonl", chat_line("a")), purpose="batch").id
    deleted = client.files.delete(file_id)
    assert (deleted.id, deleted.deleted) == (file_id, True)
    assert not list((tmp_path / "objects").rglob(file_id))
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(file_id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(file_id)


@pytest.mark.parametrize(
    ("with_database", "with_store", "missing"),
    [
        (False, True, "need PostgreSQL (database_url): not configured"),
        (True, False, "need an object store (object_store_path, or s3_endpoint): not configured"),
        (False, False, "need PostgreSQL (database_url) and an object store"),
    ],
)
def test_without_their_storage_the_apis_say_what_is_missing(
    models_file: Path,
    pg_server: Server,
    tmp_path: Path,
    with_database: bool,
    with_store: bool,
    missing: str,
) -> None:
    with storage_gateway(
        models_file,
        pg_server if with_database else None,
        tmp_path / "objects" if with_store else None,
    ) as gateway:
        for method, path in (
            ("GET", "/v1/files"),
            ("GET", "/v1/files/file-1/content"),
            ("GET", "/v1/batches"),
            ("POST", "/v1/batches/batch_1/cancel"),
        ):
            answer = gateway.request(method, path)
            assert answer.status_code == 503, path
            error = answer.json()["error"]
            assert error["code"] == "batches_unavailable" and missing in error["message"]


def test_what_names_nothing_storable_is_refused_without_a_query(gateway: TestClient) -> None:
    """Ids, cursors and texts PostgreSQL could not even compare (NUL, lone surrogates) are a
    404 or a 400, never the database's error."""
    headers = auth(KEY_A)
    for path in ("/v1/files/file%00x", "/v1/files/a%20b/content", "/v1/batches/batch%00"):
        assert gateway.get(path, headers=headers).status_code == 404, path
    assert gateway.delete("/v1/files/..%2f..", headers=headers).status_code == 404
    assert gateway.post("/v1/batches/x%00/cancel", headers=headers).status_code == 404
    for path in ("/v1/files?after=a%00", "/v1/batches?after=%2e%2e", "/v1/files?purpose=%00"):
        assert gateway.get(path, headers=headers).status_code == 400, path
    body = {"input_file_id": "file-x", "endpoint": "/v1/chat/completions",
            "completion_window": "24h", "metadata": {"k": "v\u0000"}}  # fmt: skip
    refused = gateway.post("/v1/batches", json=body, headers=headers)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "metadata"
    body = {**body, "metadata": None, "input_file_id": "file\u0000"}
    assert gateway.post("/v1/batches", json=body, headers=headers).status_code == 404


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}
