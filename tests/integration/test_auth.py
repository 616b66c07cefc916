"""API keys on the real PostgreSQL: a gateway of our own in auth_mode=api_key beside the
session's stack, keys made with the CLI, called with the official SDKs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from stackctl.api import NativeStack
from tests.integration.own_gateway import create_key, gateway_env, keys_cli, own_gateway
from tests.integration.test_request_logs import rows_for

pytestmark = pytest.mark.integration

HELLO = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def auth_env(
    native_stack: NativeStack, fake_engine_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    return gateway_env(native_stack, fake_engine_url, tmp_path_factory.mktemp("auth-gateway-state"))


@pytest.fixture(scope="module")
def auth_gateway(
    auth_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    log = tmp_path_factory.mktemp("auth-gateway") / "gateway.log"
    with own_gateway(auth_env, log) as url:
        yield url
    assert "isk-" not in log.read_text()  # keys never reach the logs


def test_keys_from_the_cli_work_with_both_sdks(
    auth_gateway: str, auth_env: dict[str, str], native_stack: NativeStack
) -> None:
    key_id, key = create_key(auth_env, "--name", "integration", "--models", "fake-echo")
    assert key.startswith("isk-") and key_id in keys_cli(auth_env, "list")
    assert key not in keys_cli(auth_env, "list")

    sdk = openai.OpenAI(base_url=f"{auth_gateway}/v1", api_key=key, max_retries=0)
    user = f"auth-{key_id}"
    reply = sdk.chat.completions.create(model="fake-echo", messages=HELLO, user=user)  # type: ignore[arg-type]
    assert reply.choices[0].message.content

    with pytest.raises(openai.PermissionDeniedError):
        sdk.chat.completions.create(model="fake-other", messages=HELLO)  # type: ignore[arg-type]
    wrong = openai.OpenAI(base_url=f"{auth_gateway}/v1", api_key="isk-" + "0" * 32, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(model="fake-echo", messages=HELLO)  # type: ignore[arg-type]

    claude = anthropic.Anthropic(base_url=auth_gateway, api_key=key, max_retries=0)
    message = claude.messages.create(model="fake-echo", max_tokens=16, messages=HELLO)  # type: ignore[arg-type]
    assert message.content
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=auth_gateway, api_key="nope", max_retries=0).messages.create(
            model="fake-echo",
            max_tokens=16,
            messages=HELLO,  # type: ignore[arg-type]
        )

    rows = asyncio.run(_wait_for_row(native_stack, user))
    assert [str(row["api_key_id"]) for row in rows] == [key_id]

    keys_cli(auth_env, "revoke", key_id)
    assert key_id not in keys_cli(auth_env, "list")


async def _wait_for_row(stack: NativeStack, user: str) -> list[object]:
    for _ in range(50):
        rows = await rows_for(
            stack, "SELECT api_key_id FROM request_logs WHERE end_user = $1", user
        )
        if rows:
            return list(rows)
        await asyncio.sleep(0.2)
    return []


def test_health_and_metrics_stay_open(auth_gateway: str) -> None:
    assert httpx.get(f"{auth_gateway}/health").status_code == 200
    assert httpx.get(f"{auth_gateway}/metrics").status_code == 200
    assert httpx.get(f"{auth_gateway}/v1/models").status_code == 401
