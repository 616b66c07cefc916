"""bench.peers.paths: the configs and request bodies both gateways get (pure, offline)."""

from __future__ import annotations

import yaml

from api_server.fakes.upstream import plan_reply
from api_server.registry import RegistryFile
from bench.peers.paths import (
    INFERSTACK,
    LITELLM,
    LOCAL_MODEL,
    RELAY_MODEL,
    STREAM_CHUNKS,
    Urls,
    gateway_order,
    inferstack_models_yaml,
    litellm_config_yaml,
    path_targets,
    stream_user_text,
)

URLS = Urls("http://e:1", "http://u:2", "http://i:3", "http://l:4")


def test_litellm_config_relays_one_model_to_the_fake_upstream() -> None:
    config = yaml.safe_load(litellm_config_yaml("http://127.0.0.1:9200"))
    assert config["model_list"] == [
        {
            "model_name": RELAY_MODEL,
            "litellm_params": {
                "model": "openai/fake-echo",
                "api_base": "http://127.0.0.1:9200/v1",
                "api_key": "sk-fake-upstream",
            },
        }
    ]
    assert config["general_settings"] == {"dangerously_permit_weak_or_unset_master_key": True}


def test_inferstack_registry_has_the_local_and_the_relayed_model() -> None:
    text = inferstack_models_yaml("http://127.0.0.1:9100", "http://127.0.0.1:9200")
    models = {m["name"]: m["engine"] for m in yaml.safe_load(text)["models"]}
    assert models[LOCAL_MODEL]["kind"] == "llamacpp"
    assert models[LOCAL_MODEL]["urls"] == ["http://127.0.0.1:9100"]
    assert models[RELAY_MODEL] == {
        "kind": "openai",
        "served_name": "fake-echo",
        "urls": ["http://127.0.0.1:9200/v1"],
    }
    RegistryFile.model_validate(yaml.safe_load(text))  # the gateway accepts it


def test_the_streamed_reply_has_the_promised_number_of_text_chunks() -> None:
    messages = [{"role": "user", "content": stream_user_text()}]
    assert len(plan_reply("fake-echo", messages, [], False).words) == STREAM_CHUNKS


def test_relayed_paths_send_the_same_body_to_both_gateways_and_one_direct() -> None:
    for path in ("relay_json", "stream"):
        targets = path_targets(path, URLS)
        assert targets[INFERSTACK].body == targets[LITELLM].body
        assert targets[f"direct-{INFERSTACK}"] is targets[f"direct-{LITELLM}"]
        assert targets[INFERSTACK].url == "http://i:3/v1/chat/completions"
        assert targets[LITELLM].url == "http://l:4/v1/chat/completions"
    assert path_targets("stream", URLS)[LITELLM].stream
    assert not path_targets("relay_json", URLS)[LITELLM].stream


def test_chat_json_compares_each_gateway_with_its_own_fake() -> None:
    targets = path_targets("chat_json", URLS)
    assert targets[f"direct-{INFERSTACK}"].url == "http://e:1/v1/completions"
    assert targets[f"direct-{LITELLM}"].url == "http://u:2/v1/chat/completions"
    assert targets[INFERSTACK].body["model"] == LOCAL_MODEL
    assert targets[LITELLM].body["model"] == RELAY_MODEL


def test_gateway_order_alternates_per_path() -> None:
    assert [gateway_order(i) for i in range(3)] == [
        (INFERSTACK, LITELLM),
        (LITELLM, INFERSTACK),
        (INFERSTACK, LITELLM),
    ]
