"""Fuzz the running gateway from its own /openapi.json with schemathesis: every operation,
data that fits the schema and data that does not, a bounded number of examples each.

Passes when no answer is a gateway fault (5xx), every 4xx comes in the caller's envelope
(OpenAI's `{"error": {...}}`, Anthropic's `{"type": "error", "error": {...}}` under
/v1/messages), and the gateway is healthy afterwards. Generated model names are mostly
unknown (404, in the envelope); `model` is also drawn from the fake engine's well-behaved
models, so valid requests reach an engine too. The fake engine's deliberately failing
models (fake-500, fake-hang, fake-429, engine-down...) are never offered: their 502/503/504
are the engine's faults, reported as such, and tested in test_tools_and_failures.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode

# Per operation and mode: 16 operations x 2 modes x this, a few minutes on 2 cores.
EXAMPLES_PER_OPERATION = 25
# Models that answer at once and never fail on purpose (tests/integration/conftest.py).
WELL_BEHAVED_MODELS = ["fake-echo", "fake-hermes", "fake-llama3", "fake-devstral-2507"]
# Hypothesis would stop early on slow examples or on many filtered ones: neither is a
# defect here, the gateway's answer is what is judged.
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure reproduces
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: report, do not minimise
    suppress_health_check=list(HealthCheck),
)


@dataclass
class FuzzReport:
    cases: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    unbreakable: list[str] = field(default_factory=list)  # no negative case exists

    def total(self) -> int:
        return sum(self.cases.values())


def envelope_problem(path: str, status: int, body: bytes) -> str | None:
    """Why a 4xx body is not in the envelope the path's clients expect, or None."""
    try:
        payload = httpx.Response(status, content=body).json()
    except ValueError:
        return "not JSON"
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
        return "no error object"
    error = payload["error"]
    if path.startswith("/v1/messages"):
        if payload.get("type") != "error" or not isinstance(error.get("type"), str):
            return "not Anthropic's envelope"
    elif not {"message", "type", "param", "code"} <= set(error):
        return "not OpenAI's envelope"
    if not isinstance(error.get("message"), str) or not error["message"]:
        return "no message"
    return None


def judge(report: FuzzReport, case: Case, status: int, body: bytes) -> None:
    path = case.operation.path
    report.statuses[status] += 1
    where = f"{case.operation.method.upper()} {path}"
    if path == "/health/ready" and status == 503:
        return  # not ready: a documented answer (the stack serves engine-down on purpose)
    if status >= 500:
        report.problems.append(f"{where}: {status} {body[:300]!r}\n  {case.as_curl_command()}")
    elif status >= 400:
        problem = envelope_problem(path, status, body)
        if problem is not None:
            report.problems.append(f"{where}: {status} {problem}: {body[:300]!r}")


def with_known_models(case: Case, model: str) -> Case:
    """Half the valid bodies name a model that exists, so they get past the 404."""
    body = case.body
    if case.operation.method.upper() == "POST" and isinstance(body, dict) and "model" in body:
        body["model"] = model
    return case


def fuzz_operation(
    report: FuzzReport,
    operation: Any,
    mode: GenerationMode,
    send: Callable[[Case], tuple[int, bytes]],
) -> None:
    name = f"{operation.method.upper()} {operation.path}"
    models = st.one_of(st.none(), st.sampled_from(WELL_BEHAVED_MODELS))

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode), model=models)
    def run(case: Case, model: str | None) -> None:
        if model is not None and mode is GenerationMode.POSITIVE:
            case = with_known_models(case, model)
        status, body = send(case)
        report.cases[f"{name} {mode}"] += 1
        judge(report, case, status, body)

    try:
        run()
    except Unsatisfiable:  # nothing to break: a GET without parameters
        report.unbreakable.append(name)


def fuzz(schema: Any, send: Callable[[Case], tuple[int, bytes]]) -> FuzzReport:
    """Every operation of `schema`, positive and negative cases, each judged."""
    report = FuzzReport()
    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(report, result.ok(), mode, send)
    return report


def test_the_api_survives_fuzzing(gateway_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{gateway_url}/openapi.json")

    def send(case: Case) -> tuple[int, bytes]:
        response = case.call(base_url=gateway_url, timeout=60)
        return response.status_code, response.content

    report = fuzz(schema, send)
    print(f"\nschemathesis: {report.total()} cases over {len(report.cases)} operation modes")
    print(f"statuses: {dict(sorted(report.statuses.items()))}")
    assert report.total() >= 100
    assert not report.problems, "\n".join(report.problems[:20])
    assert httpx.get(f"{gateway_url}/health/live", timeout=10).status_code == 200
    ready = httpx.get(f"{gateway_url}/health/ready", timeout=10)
    components = ready.json()["components"]
    # Redis with the stack's generated password (stackctl), PostgreSQL: both answer.
    assert components["redis"]["status"] == "up", ready.text
    assert components["postgres"]["status"] == "up", ready.text
    chat = {"model": "fake-echo", "messages": [{"role": "user", "content": "still here?"}]}
    assert (
        httpx.post(f"{gateway_url}/v1/chat/completions", json=chat, timeout=30).status_code == 200
    )


OPENAI_SHORT = b'{"error": {"message": "m", "type": "t"}}'


@pytest.mark.parametrize(
    ("path", "body", "problem"),
    [
        (
            "/v1/chat/completions",
            b'{"error": {"message": "m", "type": "t"}}',
            "not OpenAI's envelope",
        ),
        ("/v1/messages", b'{"error": {"message": "m", "type": "t"}}', "not Anthropic's envelope"),
        ("/v1/models", b"oops", "not JSON"),
        ("/v1/messages", b'{"type": "error", "error": {"type": "x", "message": "m"}}', None),
        (
            "/v1/completions",
            b'{"error": {"message": "m", "type": "t", "param": null, "code": null}}',
            None,
        ),
    ],
)
def test_the_envelope_check_tells_the_envelopes_apart(
    path: str, body: bytes, problem: str | None
) -> None:
    assert envelope_problem(path, 400, body) == problem
