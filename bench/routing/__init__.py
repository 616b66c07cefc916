"""Routing among replicas on real llama-servers (issue 17): failover, prefix-aware routing and
fairness, each on a native stack of its own with two llama-server replicas (`make start
REPLICAS=2 WORKERS=2`, in a state folder of its own, on free ports), through the official
openai SDK.

    .venv/bin/python -m bench.routing [--only failover,prefix,fairness] [--workers 2] ...

(a) failover  `--failover-streams` (50) streams at temperature 0 undisturbed, then again with
              one llama-server SIGKILLed once they are under way: failed requests, streams
              without a finish_reason, answers that differ (bench/routing/failover.py).
(b) prefix    `--conversations` (8) chats of `--turns` (10) behind one ~1,500-token system
              prompt, through two gateways side by side on the same engines, one per
              routing policy (least_busy, prefix), rounds alternating: median and p95 time
              to first token, output tokens/s, and prefix / least_busy (bench/routing/prefix.py).
(c) fairness  auth on, a light key alone, then beside a heavy key with `--heavy-factor` (10)
              times its requests in flight: the light key's p99 time to first token beside
              the heavy key over alone, and lost requests (bench/routing/fairness.py).

The report: bench/results/routing-<time>.json, and a table per part. On a 2-core machine
shared with other work the absolute times mean little: read the ratios.
"""
