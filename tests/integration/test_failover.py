"""Failover on real llama-servers (issue 17, (a)): 20 streams at temperature 0 through a gateway
of the test's own in front of two replicas, one replica killed (SIGKILL) while they stream. No
request may fail, every stream must end with a finish_reason, and every answer must be the
one an undisturbed run gave.

The replicas run stack.yaml's flags but one slot and one thread each. One slot: llama.cpp's
greedy output depends on which requests share its batch (two undisturbed runs of these 20
streams with --parallel 4 differed in half the answers, measured here), so with one slot the
same answer is the gateway's doing alone. One thread: two servers with every core each on
two cores ran ~6x slower (their threads spin while waiting on each other).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
import yaml

from bench.streams import StreamOutcome, TextChunkCount, gateway_client, stream_chat
from tests.integration.own_gateway import own_gateway
from tests.integration.services import (
    REPO,
    free_port,
    llama_server_binary,
    running,
    smollm2_model,
)

pytestmark = pytest.mark.integration

MODEL = "SmolLM2-135M-Instruct"
REPLICA_FLAGS = ("--parallel", "1", "--threads", "1", "--ctx-size", "8192", "--kv-unified",
                 "--cont-batching", "--metrics", "--no-repack")  # fmt: skip
TOPICS = ("the ocean", "mountains", "bees", "the moon", "trains", "coffee", "libraries",
          "rain", "chess", "volcanoes", "bicycles", "winter", "music", "bridges", "forests",
          "the desert", "clocks", "gardens", "rivers", "lighthouses")  # fmt: skip
MAX_TOKENS = 32
# The kill comes once this many chunks of text have arrived in all: both replicas are then
# inside an answer (one slot each), with the other streams queued on them.
KILL_AFTER_CHUNKS = 8


@dataclass(frozen=True)
class Replica:
    url: str
    process: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Replica]]:
    """Two llama-servers serving SmolLM2."""
    binary, model = llama_server_binary(), smollm2_model()
    logs = tmp_path_factory.mktemp("failover-replicas")
    with ExitStack() as stack:
        started = []
        for index, port in enumerate((free_port(), free_port())):
            argv = [str(binary), "--model", str(model), "--alias", MODEL,
                    "--host", "127.0.0.1", "--port", str(port), *REPLICA_FLAGS]  # fmt: skip
            url = f"http://127.0.0.1:{port}"
            log = logs / f"llama-server-{index}.log"
            started.append(Replica(url, stack.enter_context(running(argv, f"{url}/health", log))))
        yield started


@pytest.fixture(scope="module")
def gateway_url(replicas: list[Replica], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway of its own (no PostgreSQL or Redis: nothing but routing in the way) serving
    the shipped SmolLM2 entry on both replicas, with time enough for a stream queued behind
    nineteen others for two slots."""
    folder = tmp_path_factory.mktemp("failover-gateway")
    shipped = yaml.safe_load((REPO / "configs" / "models.yaml").read_text())
    smollm2 = next(m for m in shipped["models"] if m["name"] == MODEL)
    entry = {**smollm2, "enabled": True, "timeout_s": 600, "request_timeout_s": 900,
             "engine": {**smollm2["engine"], "urls": [r.url for r in replicas]}}  # fmt: skip
    (folder / "models.yaml").write_text(yaml.safe_dump({"models": [entry]}))
    env = {
        "INFERSTACK_MODELS_FILE": str(folder / "models.yaml"),
        "INFERSTACK_REQUEST_LOG_SPOOL_DIR": str(folder / "spool"),
    }
    with own_gateway(env, folder / "gateway.log") as url:
        yield url


async def _streams(
    gateway_url: str, kill: subprocess.Popen[bytes] | None = None
) -> list[StreamOutcome]:
    """The 20 streams at once; with `kill`, that process gets SIGKILL once they are under way."""
    chunks = TextChunkCount(KILL_AFTER_CHUNKS)

    async def killer() -> None:
        await chunks.reached.wait()
        assert kill is not None
        os.kill(kill.pid, signal.SIGKILL)

    async with gateway_client(gateway_url) as client:
        streams = [
            stream_chat(
                client,
                MODEL,
                [{"role": "user", "content": f"Write three sentences about {topic}."}],
                max_tokens=MAX_TOKENS,
                on_text=chunks,
            )
            for topic in TOPICS
        ]
        killing = asyncio.create_task(killer()) if kill is not None else None
        outcomes = await asyncio.gather(*streams)
        if killing is not None:
            killed = killing.done()
            killing.cancel()
            assert killed, "the streams ended before the replica was killed"
    return list(outcomes)


def test_streams_survive_a_replica_killed_while_they_stream(
    replicas: list[Replica], gateway_url: str
) -> None:
    undisturbed = asyncio.run(_streams(gateway_url))
    assert all(o.ended_well for o in undisturbed), [o.error for o in undisturbed]

    victim = replicas[0].process
    disturbed = asyncio.run(_streams(gateway_url, kill=victim))
    assert victim.wait(timeout=10) == -signal.SIGKILL

    failed = {TOPICS[i]: o.error for i, o in enumerate(disturbed) if o.error}
    assert not failed, f"{len(failed)} of {len(TOPICS)} requests failed: {failed}"
    unfinished = [TOPICS[i] for i, o in enumerate(disturbed) if o.finish_reason is None]
    assert not unfinished, f"streams without a finish_reason: {unfinished}"
    changed = {
        TOPICS[i]: (before.text, after.text)
        for i, (before, after) in enumerate(zip(undisturbed, disturbed, strict=True))
        if (before.text, before.finish_reason) != (after.text, after.finish_reason)
    }
    assert not changed, f"{len(changed)} answers differ from the undisturbed run's: {changed}"
