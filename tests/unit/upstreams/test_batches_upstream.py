"""A batch whose model is a hosted upstream (the fake provider): its lines run through the
same chat path as interactive requests, each reaching the upstream once, every answer in
the output file."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import orjson
import pytest

from tests.unit.batch_pg import empty_tables, pg_server, run_batches, storage_gateway
from tests.unit.stackctl.test_postgres import Server
from tests.unit.upstreams.conftest import upstream_models
from tests.unit.upstreams.sdk import received

__all__ = ["empty_tables", "pg_server"]


def test_a_batch_of_a_hosted_model(
    tmp_path: Path,
    fake_upstream_url: str,
    upstream: httpx.Client,
    empty_tables: Server,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-ours")
    models = tmp_path / "models.yaml"
    models.write_text(upstream_models(fake_upstream_url))
    lines = b"".join(
        orjson.dumps(
            {
                "custom_id": f"q{i}",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": "gpt-up", "messages": [{"role": "user", "content": f"q{i}"}]},
            }
        )
        + b"\n"
        for i in range(3)
    )
    with storage_gateway(models, empty_tables, tmp_path / "objects") as gateway:
        sdk = openai.OpenAI(
            base_url="http://testserver/v1", api_key="unused", http_client=gateway, max_retries=0
        )
        uploaded = sdk.files.create(file=("in.jsonl", lines), purpose="batch")
        batch = sdk.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        assert run_batches(gateway) == [batch.id]
        done = sdk.batches.retrieve(batch.id)
        assert done.status == "completed" and done.output_file_id is not None
        output = sdk.files.content(done.output_file_id).text.splitlines()
    answers = {
        row["custom_id"]: row["response"]["body"]["choices"][0]["message"]["content"]
        for row in map(orjson.loads, output)
    }
    assert answers == {f"q{i}": f"Echo: q{i}" for i in range(3)}
    sent = received(upstream)
    assert len(sent) == 3
    assert {request["headers"]["authorization"] for request in sent} == {"Bearer sk-ours"}
