"""api_key auth from static_api_keys, without PostgreSQL: the gateway app end to end, the
settings' refusals, the store's lookup order, and `inferstack keys hash`."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api_server.app import create_app
from api_server.auth.authenticator import Authenticator
from api_server.auth.cli import main as keys_main
from api_server.auth.keys import generate_key, hash_key
from api_server.auth.static_keys import StaticKeyStore
from api_server.config import Settings
from api_server.config_secrets import StaticApiKey
from api_server.registry import ModelRegistry
from tests.unit.auth.fakes import ListSink, MemoryKeyStore

HELLO = [{"role": "user", "content": "hello"}]
CHAT = {"model": "tiny", "messages": HELLO, "max_tokens": 4}


def entry(key: str) -> str:
    return "sha256:" + hash_key(key)


def static_gateway(models_file: Path, sink: ListSink, **settings: Any) -> TestClient:
    app = create_app(
        Settings(models_file=models_file, auth_mode="api_key", database_url=None, **settings),
        ModelRegistry.from_file(models_file),
        request_log=sink,
    )
    return TestClient(app)


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest.fixture
def sink() -> ListSink:
    return ListSink()


@pytest.fixture
def client(models_file: Path, sink: ListSink, key: str) -> Iterator[TestClient]:
    with static_gateway(models_file, sink, static_api_keys=[entry(key)]) as test_client:
        yield test_client


def test_a_static_key_works_without_a_database(client: TestClient, key: str) -> None:
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key=key, http_client=client)
    reply = sdk.chat.completions.create(model="tiny", messages=HELLO, max_tokens=4)  # type: ignore[arg-type]
    assert reply.choices[0].message.content
    response = client.post("/v1/chat/completions", json=CHAT, headers={"x-api-key": key})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer " + generate_key()}, {"x-api-key": "isk-" + "x" * 32}],
    ids=["missing", "unknown", "also-unknown"],
)
def test_401_without_a_listed_key(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post("/v1/chat/completions", json=CHAT, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_the_tenant_is_stable_and_derived_from_the_hash(
    models_file: Path, sink: ListSink, key: str
) -> None:
    key_ids = []
    for _ in range(2):  # two gateways (or one restarted) give the key the same id
        with static_gateway(models_file, sink, static_api_keys=[entry(key)]) as client:
            headers = {"authorization": f"Bearer {key}"}
            assert client.post("/v1/chat/completions", json=CHAT, headers=headers).is_success
        key_ids.append(sink.records[-1].api_key_id)
    digest = hash_key(key)
    assert key_ids[0] == key_ids[1]
    assert key_ids[0] is not None and key_ids[0].replace("-", "") == digest[:32]
    assert sink.records[-1].tenant == f"key:{key_ids[0]}"


def test_the_rich_form_names_the_key_and_limits_its_models(
    models_file: Path, sink: ListSink, key: str
) -> None:
    rich = {"hash": entry(key), "name": "ci", "models": ["other-model"], "rpm": 60}
    with static_gateway(models_file, sink, static_api_keys=[rich]) as client:
        response = client.post("/v1/chat/completions", json=CHAT, headers={"x-api-key": key})
    assert response.status_code == 403


def test_the_environment_takes_a_json_list(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("INFERSTACK_STATIC_API_KEYS", f'["{entry(key)}"]')
    settings = Settings(auth_mode="api_key")
    assert [e.hash for e in settings.static_api_keys] == [entry(key)]


@pytest.mark.parametrize(
    "entries",
    [
        ["isk-" + "a" * 32],  # the key itself, not its hash
        ["a" * 64],  # no sha256: prefix
        ["sha256:" + "a" * 63],
        ["sha256:" + "A" * 64],
        ["sha256:" + "g" * 64],
        [{"hash": "sha256:" + "a" * 64, "rpm": 0}],
        [{"hash": "sha256:" + "a" * 64, "admin": True}],
        ["sha256:" + "a" * 64, "sha256:" + "a" * 64],
        [],  # api_key mode with neither keys nor a database
    ],
)
def test_the_settings_refuse_a_malformed_entry(entries: list[Any]) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(auth_mode="api_key", database_url=None, static_api_keys=entries)
    assert "isk-" + "a" * 32 not in str(raised.value)  # a pasted key is not echoed


def test_no_refusal_echoes_a_secret() -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(admin_key="short-secret")
    assert "short-secret" not in str(raised.value)


async def test_a_static_keys_priority_class_reaches_its_record() -> None:
    key = generate_key()
    rich = StaticApiKey.model_validate({"hash": entry(key), "priority": "high"})
    found = await StaticKeyStore([rich]).find_by_hash(hash_key(key))
    assert found is not None and found.priority == "high"
    with pytest.raises(ValidationError):
        StaticApiKey.model_validate({"hash": entry(key), "priority": "urgent"})


async def test_a_stored_keys_priority_class_reaches_its_principal() -> None:
    database = MemoryKeyStore()
    record, key = database.add("batch-jobs")
    database.keys[hash_key(key)] = dataclasses.replace(record, priority="low")
    settings = Settings(auth_mode="api_key", static_api_keys=[entry(generate_key())])
    authenticator = Authenticator(settings, database)
    principal = await authenticator.authenticate("/v1/chat/completions", {"x-api-key": key})
    assert principal.priority == "low"


async def test_static_keys_come_before_the_database() -> None:
    database = MemoryKeyStore()
    _, stored_key = database.add("in-postgres")
    static_key = generate_key()
    store = StaticKeyStore([StaticApiKey.model_validate(entry(static_key))], fallback=database)
    found = await store.find_by_hash(hash_key(static_key))
    assert found is not None and found.name.startswith("static-")
    assert database.lookups == 0
    found = await store.find_by_hash(hash_key(stored_key))
    assert found is not None and found.name == "in-postgres"
    assert await store.find_by_hash(hash_key(generate_key())) is None


def test_keys_hash_prints_a_fresh_key_and_its_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert keys_main(["hash"]) == 0
    lines = dict(line.split(":", 1) for line in capsys.readouterr().out.splitlines())
    key, printed = lines["key"].strip(), lines["entry"].strip()
    assert printed == entry(key)
    Settings(auth_mode="api_key", static_api_keys=[printed])


def test_keys_hash_reads_a_key_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(key + "\n"))
    assert keys_main(["hash", "--stdin"]) == 0
    assert capsys.readouterr().out.strip() == entry(key)


def test_keys_hash_refuses_what_the_gateway_would_refuse(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("sk-my-old-openai-key\n"))
    assert keys_main(["hash", "--stdin"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "sk-my-old" not in captured.err
