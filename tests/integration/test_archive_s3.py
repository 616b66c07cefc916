"""The S3 archive store against a real S3-protocol server (moto in server mode, over HTTP),
and the gateway archiving into it."""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import orjson
import pytest
import urllib3
from fastapi.testclient import TestClient
from minio import Minio
from minio.error import S3Error
from pydantic import SecretStr

from api_server.app import create_app
from api_server.archive.s3 import S3ObjectStore
from api_server.archive.store import CHUNK_BYTES
from api_server.config import Settings
from api_server.registry import ModelRegistry
from tests.integration.services import free_port, running

pytestmark = pytest.mark.integration

ACCESS_KEY, SECRET_KEY = "testing", "testing-secret"


@pytest.fixture(scope="module")
def s3_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with running(argv, f"{url}/moto-api/", log, timeout_s=60):
        client = Minio(f"127.0.0.1:{port}", ACCESS_KEY, SECRET_KEY, secure=False)
        client.make_bucket("archive")
        yield url


@pytest.fixture
async def store(s3_url: str) -> AsyncIterator[S3ObjectStore]:
    s3 = S3ObjectStore.connect(
        s3_url, "archive", access_key=ACCESS_KEY, secret_key=SECRET_KEY, timeout_s=5
    )
    yield s3
    s3.close()


async def test_round_trip(store: S3ObjectStore) -> None:
    body = orjson.dumps({"request": {"model": "m"}, "response": {"content": "é ✓"}})
    await store.put("2025/01/02/req-1.json", body)
    assert await store.get("2025/01/02/req-1.json") == body
    stat = store.client.stat_object("archive", "2025/01/02/req-1.json")
    assert stat.content_type == "application/json"


async def test_overwrite_and_large_object(store: S3ObjectStore) -> None:
    big = b"x" * (6 * 1024 * 1024)
    await store.put("big.json", b"first")
    await store.put("big.json", big)
    assert await store.get("big.json") == big


async def test_missing_key_is_none(store: S3ObjectStore) -> None:
    assert await store.get("2025/01/02/never-written.json") is None


async def test_large_files_stream_in_and_out(store: S3ObjectStore, tmp_path: Path) -> None:
    """The Files API's way: a file put from disk (in parts past 5 MiB), read in pieces."""
    source = tmp_path / "requests.jsonl"
    data = b"".join(b'{"custom_id": "%d"}\n' % i for i in range(500_000))  # ~10 MiB
    source.write_bytes(data)
    await store.put_file("files/abc/file-1", source, "application/jsonl")
    stat = store.client.stat_object("archive", "files/abc/file-1")
    assert (stat.size, stat.content_type) == (len(data), "application/jsonl")
    chunks = await store.open_stream("files/abc/file-1")
    assert chunks is not None
    pieces = [piece async for piece in chunks]
    assert b"".join(pieces) == data and max(map(len, pieces)) <= CHUNK_BYTES
    assert await store.open_stream("files/abc/none") is None
    await store.delete("files/abc/file-1")
    await store.delete("files/abc/file-1")  # already gone: no error
    assert await store.get("files/abc/file-1") is None


async def test_missing_bucket_raises(s3_url: str) -> None:
    s3 = S3ObjectStore.connect(
        s3_url, "no-such-bucket", access_key=ACCESS_KEY, secret_key=SECRET_KEY
    )
    try:
        with pytest.raises(S3Error):
            await s3.put("k.json", b"{}")
    finally:
        s3.close()


async def test_server_down_raises_quickly() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    s3 = S3ObjectStore.connect(
        url, "archive", access_key=ACCESS_KEY, secret_key=SECRET_KEY, timeout_s=1
    )
    try:
        with pytest.raises(urllib3.exceptions.MaxRetryError):
            await s3.get("k.json")
    finally:
        s3.close()


def test_gateway_archives_into_s3(s3_url: str, tmp_path: Path) -> None:
    """The compose wiring: INFERSTACK_S3_* settings, the archive on, a request's object."""
    minio = Minio(s3_url.removeprefix("http://"), ACCESS_KEY, SECRET_KEY, secure=False)
    minio.make_bucket("gateway")
    models_file = tmp_path / "models.yaml"
    models_file.write_text(DEAD_ENGINE_MODELS.format(url=f"http://127.0.0.1:{free_port()}"))
    settings = Settings(
        models_file=models_file,
        archive_enabled=True,
        s3_endpoint=s3_url,
        s3_bucket="gateway",
        s3_access_key=ACCESS_KEY,
        s3_secret_key=SecretStr(SECRET_KEY),
    )
    app = create_app(settings, ModelRegistry.from_file(models_file))
    body = {"model": "engine-down", "prompt": "hello"}
    with TestClient(app) as client:  # leaving it drains the archive queue
        response = client.post("/v1/completions", json=body)
    assert response.status_code == 503
    [key] = [obj.object_name for obj in minio.list_objects("gateway", recursive=True)]
    assert re.fullmatch(rf"\d{{4}}/\d\d/\d\d/{response.headers['x-request-id']}\.json", str(key))
    payload = orjson.loads(minio.get_object("gateway", key).read())
    assert (payload["request"], payload["status_code"]) == (body, 503)


DEAD_ENGINE_MODELS = """
default_model: engine-down
models:
  - name: engine-down
    prompt_family: chatml
    engine: {{kind: llamacpp, served_name: x, urls: ["{url}"]}}
    context_length: 2048
    max_tokens: {{default: 16, limit: 64}}
"""
