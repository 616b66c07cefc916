"""Prometheus and Grafana as compose provisions them: every engine and the gateway scraped,
and the dashboard querying only metrics the gateway exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ENGINES = {"llamacpp", "vllm", "max"}  # the compose service names of the engines


def test_prometheus_scrapes_the_gateway_and_every_engine() -> None:
    config = yaml.safe_load((ROOT / "configs" / "prometheus" / "prometheus.yml").read_text())
    targets = {
        target.split(":")[0]
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert targets >= {"gateway", *ENGINES}


def test_grafana_provisions_prometheus_and_a_gateway_dashboard() -> None:
    grafana = ROOT / "configs" / "grafana"
    datasources = yaml.safe_load(
        (grafana / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )
    assert [d["url"] for d in datasources["datasources"]] == ["http://prometheus:9090"]
    dashboard_text = (grafana / "dashboards" / "inferstack-gateway.json").read_text()
    assert json.loads(dashboard_text)["panels"]
    # Every metric the dashboard queries is one the gateway exports.
    exported = set(
        re.findall(r'"(inferstack_\w+)"', (ROOT / "api_server" / "metrics.py").read_text())
    )
    queried = {
        re.sub(r"_(total|bucket|sum|count)$", "", name)
        for name in re.findall(r"inferstack_\w+", dashboard_text)
    }
    queried.discard("inferstack_gateway")  # the dashboard's own uid
    assert queried and queried <= exported, sorted(queried - exported)
