from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from api_server.errors import ModelNotFoundError
from api_server.registry import EngineSpec, ModelRegistry, ModelSpec, expand_env

REPO_MODELS = Path(__file__).resolve().parents[2] / "configs" / "models.yaml"


def test_shipped_registry_loads_with_smollm2_as_default() -> None:
    registry = ModelRegistry.from_file(REPO_MODELS, environ={})
    assert registry.default_model == "SmolLM2-135M-Instruct"
    assert [m.name for m in registry.models] == ["SmolLM2-135M-Instruct"]


def test_shipped_registry_enables_gpu_models_from_environment() -> None:
    environ = {"INFERSTACK_ENABLE_LLAMA_3_1_8B": "true", "VLLM_URL": "http://vllm:8000"}
    registry = ModelRegistry.from_file(REPO_MODELS, environ=environ)
    spec = registry.resolve("Llama-3.1-8b-instruct")
    assert spec.name == "Llama-3.1-8B-Instruct"
    assert [str(u) for u in spec.engine.urls] == ["http://vllm:8000/"]
    assert spec.tools.strict_arguments is True


def test_max_metrics_are_read_on_their_own_port() -> None:
    environ = {
        "INFERSTACK_ENABLE_SMOLLM2_MAX": "true",
        "MAX_URL": "http://max:8000",
        "MAX_METRICS_URL": "http://max:8001/metrics",
    }
    engine = ModelRegistry.from_file(REPO_MODELS, environ=environ).resolve("smollm2-max").engine
    assert engine.replica_urls() == [("http://max:8000", "http://max:8001/metrics")]
    llamacpp = ModelRegistry.from_file(REPO_MODELS, environ={}).resolve("smollm2").engine
    assert llamacpp.replica_urls() == [("http://127.0.0.1:8080", "http://127.0.0.1:8080/metrics")]


def test_shipped_smollm2_routes_among_the_llamacpp_replicas_listed() -> None:
    environ = {"LLAMACPP_URLS": "http://127.0.0.1:8080,http://127.0.0.1:8081"}
    engine = ModelRegistry.from_file(REPO_MODELS, environ=environ).resolve("smollm2").engine
    assert [url for url, _ in engine.replica_urls()] == [
        "http://127.0.0.1:8080",
        "http://127.0.0.1:8081",
    ]


def test_the_shipped_registry_parses_before_its_variables_are_expanded() -> None:
    # tests/integration/conftest.py copies the SmolLM2 entries, ${...} and all.
    raw = yaml.safe_load(REPO_MODELS.read_text())
    assert raw["models"][0]["engine"]["urls"] == ["${LLAMACPP_URLS:-http://127.0.0.1:8080}"]


def test_metrics_urls_must_pair_with_the_replicas() -> None:
    engine = {"kind": "max", "served_name": "m", "urls": ["http://a:1", "http://b:1"]}
    with pytest.raises(ValidationError, match="metrics_urls has 1 URLs for 2 replicas"):
        EngineSpec.model_validate({**engine, "metrics_urls": ["http://a:2/metrics"]})


def test_priority_scheduling_is_vllms_alone() -> None:
    engine = {"kind": "vllm", "served_name": "m", "urls": ["http://a:1"]}
    assert EngineSpec.model_validate({**engine, "priority_scheduling": True}).priority_scheduling
    with pytest.raises(ValidationError, match="priority_scheduling is vLLM's"):
        EngineSpec.model_validate({**engine, "kind": "llamacpp", "priority_scheduling": True})


def test_slots_per_replica_are_positive() -> None:
    engine = {"kind": "vllm", "served_name": "m", "urls": ["http://a:1"]}
    assert EngineSpec.model_validate({**engine, "slots_per_replica": 8}).slots_per_replica == 8
    with pytest.raises(ValidationError):
        EngineSpec.model_validate({**engine, "slots_per_replica": 0})


@pytest.mark.parametrize(
    "name",
    [
        "SmolLM2-135M-Instruct",
        "smollm2-135m-instruct",
        "SMOLLM2",
        "smollm2-135m",
    ],
)
def test_lookup_forgives_case_and_accepts_aliases(name: str) -> None:
    registry = ModelRegistry.from_file(REPO_MODELS, environ={})
    assert registry.resolve(name).name == "SmolLM2-135M-Instruct"


def test_unknown_model_lists_available() -> None:
    registry = ModelRegistry.from_file(REPO_MODELS, environ={})
    with pytest.raises(ModelNotFoundError, match="Available models: SmolLM2-135M-Instruct"):
        registry.resolve("gpt-4o")


def test_disabled_model_says_it_is_not_enabled() -> None:
    registry = ModelRegistry.from_file(REPO_MODELS, environ={})
    with pytest.raises(ModelNotFoundError, match="registered but not enabled"):
        registry.resolve("devstral-small-2")


def test_every_shipped_model_is_valid_when_enabled() -> None:
    environ = {
        name: "true"
        for name in (
            "INFERSTACK_ENABLE_LLAMA_3_1_8B",
            "INFERSTACK_ENABLE_LLAMA_3_3_70B",
            "INFERSTACK_ENABLE_DEVSTRAL_SMALL_2505",
            "INFERSTACK_ENABLE_DEVSTRAL_SMALL_2507",
            "INFERSTACK_ENABLE_DEVSTRAL_2",
            "INFERSTACK_ENABLE_DEVSTRAL_SMALL_2",
            "INFERSTACK_ENABLE_MISTRAL_SMALL_3_1",
        )
    }
    registry = ModelRegistry.from_file(REPO_MODELS, environ=environ)
    families = {m.name: m.prompt_family for m in registry.models}
    assert families == {
        "SmolLM2-135M-Instruct": "chatml",
        "Llama-3.1-8B-Instruct": "llama3",
        "Llama-3.3-70B-Instruct": "llama3",
        "Devstral-Small-2505": "mistral-v7",
        "Devstral-Small-2507": "mistral-v13",
        "Devstral-2-123B-Instruct-2512": "mistral-v13",
        "Devstral-Small-2-24B-Instruct-2512": "mistral-v13",
        "Mistral-Small-3.1-24B-Instruct": "mistral-v7",
    }


def test_duplicate_alias_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    entry = (
        "  - name: {name}\n    aliases: [shared]\n    prompt_family: chatml\n"
        "    engine: {{kind: llamacpp, served_name: x, urls: ['http://a:1']}}\n"
        "    context_length: 10\n    max_tokens: {{default: 1, limit: 2}}\n"
    )
    path.write_text("models:\n" + entry.format(name="a") + entry.format(name="b"))
    with pytest.raises(ValueError, match="used twice"):
        ModelRegistry.from_file(path, environ={})


def test_default_over_limit_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "models:\n  - name: a\n    prompt_family: chatml\n"
        "    engine: {kind: llamacpp, served_name: x, urls: ['http://a:1']}\n"
        "    context_length: 10\n    max_tokens: {default: 5, limit: 2}\n"
    )
    with pytest.raises(ValidationError, match="exceeds limit"):
        ModelRegistry.from_file(path, environ={})


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("${A}", {"A": "1"}, "1"),
        ("${A:-x}", {}, "x"),
        ("${A:-x}", {"A": "y"}, "y"),
        ("url: ${H:-http://h:1}/v1", {}, "url: http://h:1/v1"),
        ("no refs", {}, "no refs"),
    ],
)
def test_expand_env(text: str, environ: dict[str, str], expected: str) -> None:
    assert expand_env(text, environ) == expected


def test_expand_env_without_default_fails() -> None:
    with pytest.raises(ValueError, match="MISSING"):
        expand_env("${MISSING}", {})


def test_vision_is_for_hosted_upstreams_only() -> None:
    local = {
        "name": "m",
        "prompt_family": "chatml",
        "engine": {"kind": "llamacpp", "served_name": "m", "urls": ["http://127.0.0.1:1"]},
        "context_length": 100,
        "max_tokens": {"default": 10, "limit": 10},
    }
    assert ModelSpec.model_validate(local).accepts_images is False
    with pytest.raises(ValueError, match="vision is for hosted upstreams"):
        ModelSpec.model_validate({**local, "vision": True})
    hosted = {**local, "engine": {**local["engine"], "kind": "openai"}}  # type: ignore[dict-item]
    assert ModelSpec.model_validate(hosted).accepts_images is True
    assert ModelSpec.model_validate({**hosted, "vision": False}).accepts_images is False


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("devstral-2", "Devstral-2-123B-Instruct-2512"),
        ("mistralai/Devstral-2-123B-Instruct-2512", "Devstral-2-123B-Instruct-2512"),
        ("devstral-small-2", "Devstral-Small-2-24B-Instruct-2512"),
        ("devstral-small-2507", "Devstral-Small-2507"),
    ],
)
def test_devstral_2_is_its_own_model_with_its_own_limits(name: str, expected: str) -> None:
    environ = {
        "INFERSTACK_ENABLE_DEVSTRAL_SMALL_2507": "true",
        "INFERSTACK_ENABLE_DEVSTRAL_2": "true",
        "INFERSTACK_ENABLE_DEVSTRAL_SMALL_2": "true",
    }
    spec = ModelRegistry.from_file(REPO_MODELS, environ=environ).resolve(name)
    assert spec.name == expected
    expected_window = 8192 if expected == "Devstral-Small-2507" else 262144
    assert spec.context_length == expected_window
