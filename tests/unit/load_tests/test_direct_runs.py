"""Through the gateway and directly to the engine in one run: a fake gateway and a fake
engine (`/v1/completions`), both keeping what they were sent. The engine must get, for
each request the gateway got, the prompt the gateway's own formatter makes for the model,
and the report must set the two side by side, step by step, with the ratios."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from api_server.openai.protocol import ChatCompletionRequest
from api_server.openai.translate import to_conversation
from api_server.registry import ModelRegistry, prompt_formatter
from tests.unit.load_tests.slotted_gateway import running_gateway

REPO = Path(__file__).resolve().parents[3]
MODELS = """models:
  - name: m
    prompt_family: chatml
    default_system_prompt: "Be brief."
    engine: {{kind: llamacpp, served_name: m-served, urls: ["{url}"]}}
    context_length: 4096
    max_tokens: {{default: 64, limit: 512}}
"""


def test_each_step_runs_both_targets_with_the_same_requests(tmp_path: Path) -> None:
    with running_gateway(4, 0.04) as gateway, running_gateway(4, 0.04) as engine:
        models = tmp_path / "models.yaml"
        models.write_text(MODELS.format(url=engine.url))
        argv = [
            sys.executable, "-m", "load_tests", "run", "--host", gateway.url, "--model", "m",
            "--scenario", "synthetic", "--sweep", "8,16", "--duration", "1s", "--warmup", "0",
            "--input-len", "6", "--output-len", "12", "--direct-url", engine.url,
            "--models-file", str(models), "--no-screenshot", "--report-dir", str(tmp_path / "r"),
        ]  # fmt: skip
        run = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert run.returncode in (0, 1), run.stdout[-3000:] + run.stderr[-3000:]
        report: dict[str, Any] = json.loads((tmp_path / "r" / "report.json").read_text())
        to_gateway, to_engine = list(gateway.bodies), list(engine.bodies)

    # The same requests, each as the gateway's formatter writes it for the engine.
    assert len(to_gateway) == len(to_engine) > 8
    spec = ModelRegistry.from_file(models).resolve("m")
    format_prompt, _ = prompt_formatter(spec)
    expected = [
        format_prompt(to_conversation(ChatCompletionRequest.model_validate(body))).text
        for body in to_gateway
    ]
    assert sorted(body["prompt"] for body in to_engine) == sorted(expected)
    content = to_gateway[0]["messages"][0]["content"]
    assert (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n"
        f"{content}<|im_end|>\n<|im_start|>assistant\n"
    ) in expected
    for body in to_engine:
        assert (body["model"], body["max_tokens"], body["ignore_eos"]) == ("m-served", 12, True)
        assert body["stream"] is True and "stop" not in body  # ignore_eos: no end-of-turn stop
        assert body["stream_options"] == {"include_usage": True}

    direct = report["direct"]
    assert [step["rate"] for step in direct["steps"]] == [8, 16]
    assert direct["target"]["url"] == engine.url and direct["target"]["kind"] == "llamacpp"
    rows = direct["comparison"]
    assert [row["first"] for row in rows] == ["gateway", "direct"]  # alternating
    for row, through, straight in zip(rows, report["sweep"]["steps"], direct["steps"], strict=True):
        assert through["requests"] == straight["requests"]  # the same schedule
        assert row["gateway"]["e2e_p50_ms"] == through["e2e_ms"]["p50"]
        assert row["direct"]["e2e_p50_ms"] == straight["e2e_ms"]["p50"]
        assert row["ratio"]["e2e_p50_ms"] == round(
            through["e2e_ms"]["p50"] / straight["e2e_ms"]["p50"], 3
        )
        assert straight["output_len"] == {**straight["output_len"], "requested_mean": 12}
    assert "through the gateway vs direct to the engine (llamacpp" in run.stdout


def test_direct_needs_an_open_loop_workload(tmp_path: Path) -> None:
    for options, problem in (
        (["--scenario", "stream", "--rate", "2"], "compares a workload"),
        (["--scenario", "synthetic"], "give --rate or --sweep"),
    ):
        argv = [
            sys.executable, "-m", "load_tests", "run", "--report-dir", str(tmp_path),
            "--direct-url", "http://127.0.0.1:9", *options,
        ]  # fmt: skip
        run = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60)
        assert run.returncode == 2 and problem in run.stderr, run.stderr
