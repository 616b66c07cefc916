import pytest

from stackctl.errors import StackError
from stackctl.spec import ServiceSpec
from stackctl.values import (
    LazyValues,
    expand,
    override_env_name,
    service_values,
    services_named,
)

ENGINE = ServiceSpec(
    name="engine",
    command=("${llama_server}", "--port", "${port}", "-c", "${ctx_size}"),
    vars={"ctx_size": 8192, "model": "${root}/models/m.gguf"},
    port=8080,
    health="http://127.0.0.1:${port}/health",
)


def test_expand_uses_service_host_port_vars_and_base_values() -> None:
    values = service_values(ENGINE, {"root": "/repo", "llama_server": "/bin/ls"}, {})
    assert expand("${host}:${port}", values, "t") == "127.0.0.1:8080"
    assert values["ctx_size"] == "8192"
    assert values["model"] == "/repo/models/m.gguf"


def test_env_overrides_a_var() -> None:
    environ = {override_env_name("engine", "ctx_size"): "16384"}
    values = service_values(ENGINE, {"root": "/repo"}, environ)
    assert override_env_name("engine", "ctx_size") == "STACKCTL_ENGINE_CTX_SIZE"
    assert values["ctx_size"] == "16384"


def test_resolvers_run_only_when_used_and_once() -> None:
    calls: list[str] = []

    def resolve() -> str:
        calls.append("called")
        return "/cache/llama-server"

    values = service_values(ENGINE, {"root": "/repo", "llama_server": resolve}, {})
    assert expand("${port}", values, "t") == "8080"
    assert calls == []
    assert expand("${llama_server} ${llama_server}", values, "t") == (
        "/cache/llama-server /cache/llama-server"
    )
    assert calls == ["called"]


def test_unknown_placeholder_names_where_and_what() -> None:
    with pytest.raises(StackError, match=r"engine.command: unknown placeholder \$\{prot\}"):
        expand("--port ${prot}", LazyValues({"port": "1"}), "engine.command")


def test_malformed_placeholder_is_an_error() -> None:
    with pytest.raises(StackError, match=r"engine\.url"):
        expand("http://h:$", LazyValues({}), "engine.url")


def test_services_named_are_those_of_dotted_placeholders() -> None:
    assert services_named("http://${engine2.host}:${engine2.port}/${db.x}${port}$$") == {
        "engine2",
        "db",
    }
    assert services_named("${root}/plain") == set()
