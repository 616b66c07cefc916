"""Locust scenarios against the gateway's OpenAI chat API.

Run it through `python -m load_tests run|ui` (which sets the report folder and Locust's own
HTML/CSV output), or with Locust itself, locally or distributed, unchanged:

    locust -f load_tests/locustfile.py --headless -u 8 -r 4 -t 30s \\
        --host http://localhost:8000 --scenario mixed --load-profile cpu
    locust -f load_tests/locustfile.py --master ...   # and: locust -f ... --worker

Every figure travels as a Locust request event (see `load_tests.report`), so Locust merges
them across workers; the master (or the local runner) writes `report.json` when it quits.

`--max-requests N` ends the run once N chat requests are done (`load_tests.request_budget`);
its count lives in one process, so it refuses to run distributed.

`--rate R` (one step) or `--sweep 1,2,4|auto` sends open-loop arrivals instead of closed-loop
users (`load_tests.open_loop`): run it with one user (`-u 1`), which dispatches every request
on its schedule and quits Locust when the last step is done; it too runs in one process.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

if __package__ in (None, ""):  # loaded by path (`locust -f load_tests/locustfile.py`)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gevent  # type: ignore[import-untyped]
from locust import HttpUser, events, task
from locust.argument_parser import LocustArgumentParser
from locust.clients import HttpSession
from locust.env import Environment
from locust.event import EventHook
from locust.exception import StopUser
from locust.runners import WorkerRunner
from urllib3 import PoolManager

from load_tests import reporting
from load_tests.direct_comparison import direct_section
from load_tests.direct_request import (
    COMPLETIONS,
    DIRECT_KINDS,
    MODELS_FILE,
    DirectTarget,
    direct_target,
    engine_body,
)
from load_tests.locust_answers import arrivals, failed, http_error, is_timeout, timed_out
from load_tests.metrics_probe import MetricsProbe
from load_tests.open_loop import DIRECT, OpenLoopSettings, Target, run_sweep
from load_tests.prompts import SCENARIOS, Message, PromptPicker, load_dataset
from load_tests.report import ITL, REPORTS, REQUESTED, TOOLCALL, TTFT, USAGE
from load_tests.request_budget import RequestBudget
from load_tests.request_record import Answer
from load_tests.run_setup import attached, set_up_budget, set_up_open_loop, set_up_workload
from load_tests.sse import read_chat_stream
from load_tests.thresholds import CONFIG, load_profile
from load_tests.workload_source import (
    DEFAULT_INPUT_LEN,
    DEFAULT_OUTPUT_LEN,
    REPLAY_TIMINGS,
    WorkloadSource,
    WorkloadSpec,
    step_source,
)
from load_tests.workloads import PlannedRequest

# The `mixed` scenario: weight of each scenario in a user's sequence of requests.
MIX = {"short": 3, "medium": 2, "long": 1, "stream": 3, "tools": 1}
PATH = "/v1/chat/completions"
TIMEOUT = (10.0, 180.0)  # connect, read (s): a long prompt on a busy CPU engine is slow
OPEN_LOOP_CONNECTIONS = 1000  # kept alive for reuse; more requests in flight open more
DATASET = load_dataset()


def _add_options(parser: LocustArgumentParser) -> None:
    parser.add_argument("--scenario", choices=SCENARIOS, default="mixed", help="what users send")
    parser.add_argument("--model", default="SmolLM2-135M-Instruct", help="model to ask")
    parser.add_argument("--tools-model", default="", help="model for `tools` (default: --model)")
    parser.add_argument(
        "--max-tokens", type=int, default=0, help="max_tokens per request (0: the profile's)"
    )
    parser.add_argument(
        "--cache-friendly", action="store_true", help="same prompts for every user, untagged"
    )
    parser.add_argument(
        "--load-profile", default="cpu", help="thresholds profile (configs/load_test.yaml)"
    )
    parser.add_argument("--think-time", type=float, default=0.5, help="max pause between requests")
    parser.add_argument(
        "--max-requests", type=int, default=0, include_in_web_ui=False,
        help="stop once this many chat requests are done (0: no cap; one process only)",
    )  # fmt: skip
    parser.add_argument(
        "--load-test-config", default=str(CONFIG), include_in_web_ui=False, help="profiles file"
    )
    parser.add_argument(
        "--rate", type=float, default=0.0, include_in_web_ui=False,
        help="open loop: requests/s on a seeded schedule (0: closed-loop users); run with -u 1",
    )  # fmt: skip
    parser.add_argument(
        "--sweep", default="", include_in_web_ui=False,
        help="open loop: rates to run in turn (1,2,4) or `auto` (double, then bisect the knee)",
    )  # fmt: skip
    parser.add_argument(
        "--burstiness", type=float, default=1.0, include_in_web_ui=False,
        help="open loop: gamma shape of the gaps between requests (1: Poisson)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, include_in_web_ui=False)
    parser.add_argument(
        "--step-duration", type=float, default=30.0, include_in_web_ui=False,
        help="open loop: seconds each rate is measured",
    )  # fmt: skip
    parser.add_argument(
        "--repeat", type=int, default=1, include_in_web_ui=False,
        help="open loop: runs of each rate (seed, seed + 1, ...), pooled, with their spread",
    )  # fmt: skip
    parser.add_argument(
        "--warmup", type=float, default=5.0, include_in_web_ui=False,
        help="open loop: seconds sent at each rate before it is measured (discarded)",
    )  # fmt: skip
    parser.add_argument(
        "--sweep-start", type=float, default=1.0, include_in_web_ui=False,
        help="--sweep auto: the first rate",
    )  # fmt: skip
    parser.add_argument(
        "--input-len", default=DEFAULT_INPUT_LEN,
        help="workloads: prompt words (256, uniform:128:512, normal:256:32)",
    )  # fmt: skip
    parser.add_argument(
        "--output-len", default=DEFAULT_OUTPUT_LEN, help="workloads: max_tokens (same syntax)"
    )
    parser.add_argument("--prefix-len", type=int, default=0, help="shared-prefix: prefix words")
    parser.add_argument("--prefix-groups", type=int, default=1, help="shared-prefix: prefixes")
    parser.add_argument("--turns", type=int, default=3, help="multi-turn: turns per conversation")
    parser.add_argument("--replay", default="", help="replay: the recording (JSONL)")
    parser.add_argument(
        "--replay-timing", choices=REPLAY_TIMINGS, default="rate", include_in_web_ui=False,
        help="replay: at the recording's own times, or on the --rate/--sweep schedule",
    )  # fmt: skip
    parser.add_argument(
        "--no-ignore-eos", action="store_true",
        help="workloads: let the engine stop before max_tokens (default: ignore_eos)",
    )  # fmt: skip
    parser.add_argument(
        "--direct-url", default="", include_in_web_ui=False,
        help="open-loop workloads: the engine, sent each step's requests directly too",
    )  # fmt: skip
    parser.add_argument(
        "--direct-kind", choices=("", *DIRECT_KINDS), default="", include_in_web_ui=False,
        help="the engine's kind (default: the model's registry entry's)",
    )  # fmt: skip
    parser.add_argument(
        "--models-file", default=str(MODELS_FILE), include_in_web_ui=False,
        help="the gateway's model registry (--direct-url formats prompts from it)",
    )  # fmt: skip
    parser.add_argument(
        "--report-dir", default="", include_in_web_ui=False,
        help="where report.json goes (default load_tests/reports/<timestamp>)",
    )  # fmt: skip
    parser.add_argument(
        "--no-summary", action="store_true", include_in_web_ui=False,
        help="write summary.txt without printing it (python -m load_tests prints it)",
    )  # fmt: skip


class ChatUser(HttpUser):
    """One client; each task is one request of the configured scenario."""

    def on_start(self) -> None:
        options = self.environment.parsed_options
        self.scenario: str = options.scenario
        self.model: str = options.model
        self.tools_model: str = options.tools_model or options.model
        self.max_tokens: int = (
            options.max_tokens
            or load_profile(options.load_profile, Path(options.load_test_config)).max_tokens
        )
        self.think_time: float = options.think_time
        self.prompts = PromptPicker(DATASET, cache_friendly=options.cache_friendly)

    def wait_time(self) -> float:
        return random.uniform(0, self.think_time)

    @task
    def chat(self) -> None:
        settings = attached(self.environment, "open_loop", OpenLoopSettings)
        if settings is not None:
            self._dispatch_open_loop(settings)
            gevent.spawn(self._quit)
            raise StopUser()
        budget = attached(self.environment, "request_budget", RequestBudget)
        if budget is None:
            self._chat()
            return
        if not budget.start():
            raise StopUser()  # all N requests are started: this user has nothing left to send
        try:
            self._chat()
        finally:
            if budget.finish():
                # quit() kills every user, this one included: it must not run in this greenlet.
                gevent.spawn(self._quit)

    def _quit(self) -> None:
        if self.environment.runner is not None:
            self.environment.runner.quit()

    def _dispatch_open_loop(self, settings: OpenLoopSettings) -> None:
        """Every step of the open-loop run from this one user, each request in a greenlet."""
        environment = self.environment
        options = environment.parsed_options
        # One session shared by every request greenlet, with a pool big enough to keep the
        # connections of all requests in flight alive.
        self.client = HttpSession(
            base_url=self.host, request_event=environment.events.request, user=self,
            pool_manager=PoolManager(maxsize=OPEN_LOOP_CONNECTIONS, block=False),
        )  # fmt: skip
        profile = load_profile(options.load_profile, Path(options.load_test_config))
        # One rate: Locust's own tables (and the thresholds) cover the measured window only.
        reset = environment.stats.reset_all if settings.single_rate else None
        spec = attached(environment, "workload", WorkloadSpec)
        target = (
            direct_target(Path(options.models_file), options.model, options.direct_url,
                          options.direct_kind)
            if options.direct_url else None
        )  # fmt: skip
        # The engine's requests stay out of Locust's tables (an event hook of their own):
        # those are the gateway's.
        engine = HttpSession(
            base_url=options.direct_url or self.host, request_event=EventHook(), user=self,  # type: ignore[no-untyped-call]
            pool_manager=PoolManager(maxsize=OPEN_LOOP_CONNECTIONS, block=False),
        )  # fmt: skip

        def send_for_step(to: Target, step: int) -> Callable[[], Answer]:
            if spec is None:
                return self._chat
            source = step_source(spec, options.seed, step)  # the same requests every step
            if to == DIRECT and target is not None:
                return lambda: self._direct(source, source.next(), target, engine)
            return lambda: self._planned(source, source.next())

        result = run_sweep(
            send_for_step, settings, profile.objectives, on_window_start=reset,
            direct=target is not None, probe=MetricsProbe(self.host or "", options.model),
        )  # fmt: skip
        environment.sweep_report = result.sweep
        if target is not None:
            environment.direct_report = direct_section(
                result.direct_steps, result.sweep, settings.rates, profile.objectives,
                target.describe(),
            )  # fmt: skip

    def _chat(self) -> Answer:
        """One request of the scenario (one `POST`, plus the figures recorded from its answer)."""
        scenario = self.scenario
        if scenario == "mixed":
            scenario = self.prompts.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        run: dict[str, Callable[[], Answer]] = {
            "short": lambda: self._complete("short", self.prompts.short()),
            "medium": lambda: self._complete("medium", self.prompts.medium()),
            "long": lambda: self._complete("long", self.prompts.long()),
            "stream": lambda: self._stream("stream", self.prompts.stream()),
            "tools": self._tools,
        }
        if scenario in run:
            return run[scenario]()
        source = attached(self.environment, "workload_source", WorkloadSource)
        assert source is not None  # set up by set_up_workload for every workload scenario
        return self._planned(source, source.next())

    def _direct(
        self,
        source: WorkloadSource,
        planned: PlannedRequest,
        target: DirectTarget,
        engine: HttpSession,
    ) -> Answer:
        """The same request straight to the engine, as the gateway would have sent it."""
        body = engine_body(target, planned.body(self.model))
        answer = self._stream(self.scenario, body, client=engine, path=COMPLETIONS, record=False)
        source.answered(planned, answer.text if answer.ok else None)
        return replace(answer, requested_tokens=planned.max_tokens, text=None)

    def _planned(self, source: WorkloadSource, planned: PlannedRequest) -> Answer:
        """One request of a workload scenario, its answer handed back to the source."""
        answer = self._stream(self.scenario, planned.body(self.model))
        source.answered(planned, answer.text if answer.ok else None)
        if planned.max_tokens is not None:
            self._record(REQUESTED, self.scenario, planned.max_tokens, planned.max_tokens)
        return replace(answer, requested_tokens=planned.max_tokens, text=None)

    def _body(self, messages: list[Message], **extra: Any) -> dict[str, Any]:
        return {"model": self.model, "messages": messages, "max_tokens": self.max_tokens, **extra}

    def _complete(self, name: str, body_or_messages: Any, tool_name: str = "") -> Answer:
        body = body_or_messages
        if isinstance(body_or_messages, list):
            body = self._body(body_or_messages)
        with self.client.post(
            PATH, json=body, name=name, catch_response=True, timeout=TIMEOUT
        ) as response:
            if response.status_code != 200:
                return failed(response, http_error(response), timed_out(response))
            try:
                answer = response.json()
                message = answer["choices"][0]["message"]
                tokens = int(answer["usage"]["completion_tokens"])
            except (ValueError, KeyError, IndexError, TypeError) as error:
                return failed(response, f"malformed answer: {error!r}")
            called = [call["function"]["name"] for call in message.get("tool_calls") or []]
        self._record(USAGE, name, tokens, tokens)
        if tool_name:
            # A tiny model may still write a malformed call (the gateway then returns it as
            # content): a figure of its own, not a failed request.
            missed = None if tool_name in called else f"no call to {tool_name} (got {called})"
            self._record(TOOLCALL, name, 0, error=missed)
        return Answer(ok=True, server_tokens=tokens)

    def _tools(self) -> Answer:
        request = self.prompts.tools()
        body = self._body(request.messages, tools=request.tools)
        body["model"] = self.tools_model
        body["tool_choice"] = {"type": "function", "function": {"name": request.tool_name}}
        return self._complete("tools", body, tool_name=request.tool_name)

    def _stream(
        self,
        name: str,
        messages_or_body: list[Message] | dict[str, Any],
        client: HttpSession | None = None,
        path: str = PATH,
        record: bool = True,
    ) -> Answer:
        """One streamed request: to the gateway's chat API, or (`client`, `path`) another
        server's; `record`: its figures as Locust events (the gateway's requests only)."""
        body = messages_or_body
        if isinstance(messages_or_body, list):
            body = self._body(messages_or_body, stream=True, stream_options={"include_usage": True})
        sent_at = time.perf_counter()
        with (client or self.client).post(
            path, json=body, name=name, stream=True, catch_response=True, timeout=TIMEOUT
        ) as response:
            if response.status_code != 200:
                return failed(response, http_error(response), timed_out(response))
            received = [0]
            try:
                result = read_chat_stream(arrivals(response, received), sent_at)
            except Exception as error:  # the connection broke mid-stream
                return failed(response, f"stream broken: {error!r}", is_timeout(error))
            # Locust timed the headers only (stream=True); the request lasts to the last byte.
            meta = cast(dict[str, Any], response.request_meta)
            meta["response_time"] = (time.perf_counter() - sent_at) * 1000
            meta["response_length"] = received[0]
            if result.error:
                return failed(response, result.error)
            if result.completion_tokens is None:
                return failed(response, "no usage chunk despite stream_options.include_usage")
        if record:
            if result.ttft_ms is not None:
                self._record(TTFT, name, result.ttft_ms)
            for gap in result.itl_ms:
                self._record(ITL, name, gap)
            self._record(USAGE, name, result.completion_tokens, result.completion_tokens)
        return Answer(
            ok=True, ttft_ms=result.ttft_ms, itl_ms=tuple(result.itl_ms),
            client_tokens=result.token_chunks, server_tokens=result.completion_tokens,
            text=result.text,
        )  # fmt: skip

    def _record(
        self, kind: str, name: str, value: float, length: int = 0, error: str | None = None
    ) -> None:
        self.environment.events.request.fire(
            request_type=kind, name=name, response_time=value, response_length=length,
            exception=None if error is None else RuntimeError(error), context={},
        )  # fmt: skip


# Workers that reported stats to this master (they may have disconnected by the time it quits).
_WORKERS_SEEN: set[str] = set()


def _count_worker(client_id: str, data: dict[str, Any]) -> None:
    _WORKERS_SEEN.add(client_id)


def _write_report(environment: Environment, **_kwargs: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) or environment.parsed_options is None:
        return  # workers send their stats to the master, which writes the report
    options = environment.parsed_options
    workers = len(_WORKERS_SEEN)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    report_dir = Path(options.report_dir or REPORTS / stamp)
    sweep: dict[str, Any] | None = getattr(environment, "sweep_report", None)
    direct: dict[str, Any] | None = getattr(environment, "direct_report", None)
    passed = reporting.write_report(environment.stats, options, report_dir, workers, sweep, direct)
    environment.process_exit_code = 0 if passed else 1


# Locust's EventHook.add_listener is unannotated.
events.init_command_line_parser.add_listener(_add_options)  # type: ignore[no-untyped-call]
events.init.add_listener(set_up_budget)  # type: ignore[no-untyped-call]
events.init.add_listener(set_up_workload)  # type: ignore[no-untyped-call]
events.init.add_listener(set_up_open_loop)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_write_report)  # type: ignore[no-untyped-call]
events.worker_report.add_listener(_count_worker)  # type: ignore[no-untyped-call]
