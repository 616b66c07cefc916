"""The gateway runs the writer when a database is configured: with PostgreSQL unreachable,
a request's row survives shutdown in the spool, and the writer's metrics are exported."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api_server.app import create_app
from api_server.config import Settings
from api_server.logs.spool import RequestLogSpool
from api_server.registry import ModelRegistry

CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "user": "someone"}


def test_rows_survive_an_unreachable_database_in_the_spool(
    models_file: Path, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "spool"
    settings = Settings(
        models_file=models_file,
        database_url="postgresql://u:p@127.0.0.1:9/db",  # type: ignore[arg-type]
        request_log_spool_dir=spool_dir,
    )
    app = create_app(settings, ModelRegistry.from_file(models_file))
    with TestClient(app) as client:
        response = client.post("/v1/chat/completions", json=CHAT, headers={"X-Request-ID": "r-1"})
        assert response.status_code == 200
        metrics = client.get("/metrics").text
    for name in ("queue_depth", "spool_bytes", "rows_written_total", "flush_seconds_bucket"):
        assert f"inferstack_request_log_{name}" in metrics

    spool = RequestLogSpool(spool_dir, max_bytes=1 << 20)
    (segment,) = spool.segments()
    records, unreadable = spool.read(segment)
    assert unreadable == 0
    assert [(r.id, r.client_request_id, r.status_code, r.end_user, r.model) for r in records] == [
        (response.headers["x-request-id"], "r-1", 200, "someone", "tiny-chatml")
    ]
