"""The catalog of an upstream's model ids, against a fake `GET /v1/models` in the test's own
event loop: names spelled as the upstream lists them, lists kept for their TTL, one fetch
for concurrent callers, failures remembered briefly and never an error, the upstream's own
credentials and headers sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from api_server.generation.request import ModelRuntime
from api_server.proxy_mode import UpstreamSettings, upstream_registry
from api_server.state import build_runtime
from api_server.upstreams.model_catalog import ModelCatalog, ModelSpellings, listed_model_ids

IDS = ["gpt-4o", "gpt-4o-mini", "Fake-Model"]


class FakeModelList:
    """An upstream's model list: what it answers, and the headers of each request for it."""

    def __init__(self) -> None:
        self.status = 200
        self.body = orjson.dumps({"object": "list", "data": [{"id": i} for i in IDS]})
        self.gate = asyncio.Event()  # answers wait for it
        self.gate.set()
        self.requests: list[dict[str, str]] = []
        self.received = asyncio.Event()  # set at each request
        self.url = ""

    async def models(self, request: web.Request) -> web.Response:
        self.requests.append(dict(request.headers))
        self.received.set()
        await self.gate.wait()
        return web.Response(body=self.body, status=self.status, content_type="application/json")


@pytest.fixture
async def upstream() -> AsyncIterator[FakeModelList]:
    fake = FakeModelList()
    app = web.Application()
    app.router.add_get("/v1/models", fake.models)
    async with TestServer(app) as server:
        fake.url = f"http://{server.host}:{server.port}"
        yield fake
        fake.gate.set()  # no answer left waiting when the server stops


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def catalog(clock: Clock) -> ModelCatalog:
    return ModelCatalog(ttl_s=300, failure_ttl_s=30, timeout_s=2, clock=clock)


def proxy_runtime(url: str, http: aiohttp.ClientSession, **upstream: Any) -> ModelRuntime:
    """The catch-all entry's runtime of `inferstack run --base-url {url}/v1 --type openai`."""
    settings = UpstreamSettings.model_validate(
        {"base_url": f"{url}/v1", "type": "openai", **upstream}
    )
    return build_runtime(upstream_registry(settings).models[0], http)


CLIENT = {"authorization": "Bearer sk-client"}


@pytest.mark.parametrize(
    ("name", "spelled"),
    [
        ("GPT-4o", "gpt-4o"),
        ("gpt-4o", "gpt-4o"),
        ("Gpt-4O-Mini", "gpt-4o-mini"),
        ("fake-model", "Fake-Model"),
        ("FAKE-MODEL", "Fake-Model"),
        ("gpt-5", "gpt-5"),  # not listed: the upstream judges it
    ],
)
async def test_a_name_is_spelled_as_the_upstream_lists_it(
    upstream: FakeModelList,
    http: aiohttp.ClientSession,
    catalog: ModelCatalog,
    name: str,
    spelled: str,
) -> None:
    assert await catalog.spelling(proxy_runtime(upstream.url, http), name, CLIENT) == spelled


@pytest.mark.parametrize(
    ("ids", "name", "spelled"),
    [
        (["Model", "MODEL"], "model", None),  # two spellings: neither is guessed
        (["Model", "MODEL"], "MODEL", "MODEL"),  # but one is the very name
        (["a-b"], "A-B", "a-b"),
        ([], "a", None),
    ],
)
def test_spellings(ids: list[str], name: str, spelled: str | None) -> None:
    assert ModelSpellings.of(ids).spelling(name) == spelled


@pytest.mark.parametrize(
    ("payload", "ids"),
    [
        ({"object": "list", "data": [{"id": "a"}, {"id": "B"}]}, ["a", "B"]),
        ({"data": [{"id": "a"}, {"name": "b"}, {"id": 3}, "c"]}, ["a"]),
        ({"data": []}, []),
        ({"models": [{"id": "a"}]}, None),
        ({"data": "a"}, None),
        ([{"id": "a"}], None),
        (None, None),
    ],
)
def test_listed_model_ids(payload: Any, ids: list[str] | None) -> None:
    assert listed_model_ids(payload) == ids


async def test_a_list_is_kept_for_its_ttl(
    upstream: FakeModelList, http: aiohttp.ClientSession, catalog: ModelCatalog, clock: Clock
) -> None:
    runtime = proxy_runtime(upstream.url, http)
    assert await catalog.spelling(runtime, "GPT-4o", CLIENT) == "gpt-4o"
    clock.now += 299
    assert await catalog.spelling(runtime, "FAKE-MODEL", CLIENT) == "Fake-Model"
    assert await catalog.spelling(runtime, "unlisted", CLIENT) == "unlisted"
    assert len(upstream.requests) == 1
    clock.now += 2
    upstream.body = orjson.dumps({"data": [{"id": "GPT-4O"}]})
    assert await catalog.spelling(runtime, "gpt-4o", CLIENT) == "GPT-4O"
    assert len(upstream.requests) == 2


async def test_concurrent_callers_share_one_fetch(
    upstream: FakeModelList, http: aiohttp.ClientSession, catalog: ModelCatalog
) -> None:
    runtime = proxy_runtime(upstream.url, http)
    names = ["GPT-4o", "fake-model", "x"] * 4
    upstream.gate.clear()
    callers = [asyncio.create_task(catalog.spelling(runtime, name, CLIENT)) for name in names]
    await asyncio.wait_for(upstream.received.wait(), 5)
    callers[0].cancel()  # a client that goes away leaves the fetch to the others
    await asyncio.sleep(0.05)
    upstream.gate.set()
    spelled = await asyncio.gather(*callers[1:])
    expected = {"GPT-4o": "gpt-4o", "fake-model": "Fake-Model", "x": "x"}
    assert spelled == [expected[name] for name in names[1:]]
    assert len(upstream.requests) == 1
    assert await catalog.spelling(runtime, "GPT-4o", CLIENT) == "gpt-4o"  # kept
    assert len(upstream.requests) == 1


@pytest.mark.parametrize(
    "failure",
    ["status 500", "status 401", "not JSON", "not a model list", "too large", "too slow"],
)
async def test_a_failed_fetch_leaves_the_name_and_is_remembered_briefly(
    upstream: FakeModelList,
    http: aiohttp.ClientSession,
    clock: Clock,
    failure: str,
) -> None:
    catalog = ModelCatalog(failure_ttl_s=30, timeout_s=0.2, max_bytes=4096, clock=clock)
    if failure.startswith("status"):
        upstream.status = int(failure.split()[1])
    elif failure == "not JSON":
        upstream.body = b"<html>models</html>"
    elif failure == "not a model list":
        upstream.body = b'{"models": ["gpt-4o"]}'
    elif failure == "too large":
        ids = [*IDS, *(f"model-{i:05}" for i in range(1000))]
        upstream.body = orjson.dumps({"data": [{"id": i} for i in ids]})
    else:
        upstream.gate.clear()
    runtime = proxy_runtime(upstream.url, http)
    assert await catalog.spelling(runtime, "GPT-4o", CLIENT) == "GPT-4o"
    assert await catalog.spelling(runtime, "GPT-4o", CLIENT) == "GPT-4o"
    assert len(upstream.requests) == 1  # a failing upstream is not asked on every call
    clock.now += 31
    upstream.status, upstream.body = 200, orjson.dumps({"data": [{"id": "gpt-4o"}]})
    upstream.gate.set()
    assert await catalog.spelling(runtime, "GPT-4o", CLIENT) == "gpt-4o"
    assert len(upstream.requests) == 2


async def test_an_unreachable_upstream_leaves_the_name(
    http: aiohttp.ClientSession, catalog: ModelCatalog
) -> None:
    runtime = proxy_runtime("http://127.0.0.1:9", http)
    assert await catalog.spelling(runtime, "GPT-4o", CLIENT) == "GPT-4o"


async def test_our_key_and_the_configured_headers_are_sent(
    upstream: FakeModelList,
    http: aiohttp.ClientSession,
    catalog: ModelCatalog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CATALOG_TEST_KEY", "sk-ours")
    runtime = proxy_runtime(
        upstream.url,
        http,
        auth={"style": "env", "api_key_env": "CATALOG_TEST_KEY"},
        headers={"X-Team": "a"},
    )
    assert await catalog.spelling(runtime, "GPT-4o", CLIENT) == "gpt-4o"
    [sent] = upstream.requests
    assert (sent["Authorization"], sent["X-Team"]) == ("Bearer sk-ours", "a")
    # Our key is the same whoever asks: one list for every client.
    await catalog.spelling(runtime, "GPT-4o", {"authorization": "Bearer sk-other"})
    assert len(upstream.requests) == 1


async def test_the_clients_key_is_sent_and_each_key_has_its_own_list(
    upstream: FakeModelList, http: aiohttp.ClientSession, catalog: ModelCatalog
) -> None:
    runtime = proxy_runtime(upstream.url, http)  # auth style header: the client's own key
    await catalog.spelling(runtime, "GPT-4o", {"x-api-key": "sk-a"})
    await catalog.spelling(runtime, "GPT-4o", {"authorization": "Bearer sk-a"})
    await catalog.spelling(runtime, "GPT-4o", {"x-api-key": "sk-b"})
    await catalog.spelling(runtime, "GPT-4o", {})
    assert [sent.get("Authorization") for sent in upstream.requests] == [
        "Bearer sk-a",  # Anthropic's header, in the upstream's own style
        "Bearer sk-b",
        None,
    ]


async def test_closing_stops_a_running_fetch(
    upstream: FakeModelList, http: aiohttp.ClientSession, catalog: ModelCatalog
) -> None:
    upstream.gate.clear()
    caller = asyncio.create_task(
        catalog.spelling(proxy_runtime(upstream.url, http), "GPT-4o", CLIENT)
    )
    await asyncio.wait_for(upstream.received.wait(), 5)
    await catalog.close()
    with pytest.raises(asyncio.CancelledError):
        await caller
