"""Every target of every generated dashboard, evaluated on a real Prometheus scraping the running
demo (the real broker, agent, aggregator): each must return data, unless declared empty here."""

from __future__ import annotations

import json
import threading

import pytest

from agent.settings import KafkaSettings
from deploy.config import Settings
from deploy.demo import DemoOptions, DemoReport, run_demo
from deploy.prometheus import prometheus_binary, query_prometheus
from tests.conftest import need_binary
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e

VARIABLES = {"$namespace": "demo", "$model": "credit-risk", "$version": ".*", "$__rate_interval": "30s"}
# This scenario has no GPU (no NVIDIA driver here): GPU panels are declared empty, nothing else.
EMPTY = {"GPU", "GPU use (GPUs busy with the model)"}


def substitute(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


@pytest.mark.timeout(240)
def test_every_panel_of_every_dashboard_returns_data_from_the_running_demo(kafka_bootstrap, tmp_path):
    need_binary("prometheus", prometheus_binary())
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=(kafka_bootstrap,)))
    options = DemoOptions(
        duration=None,
        drift_after=600,
        window_seconds=2,
        report_every=2,
        metrics_port=0,
        rate=1000,
        workdir=tmp_path,
        label_delay=2,
        html_report=False,
    )
    report, stop = DemoReport(), threading.Event()
    demo = threading.Thread(
        target=run_demo, args=(options, settings), kwargs={"stop": stop, "report": report}, daemon=True
    )
    demo.start()
    try:
        wait_until(lambda: report.prometheus_url is not None, 60, what="the demo's Prometheus")
        url = report.prometheus_url
        # the slowest series to appear: CBPE estimates and realized accuracy after labels, hardware
        for ready in (
            "modelmon_quality_metric",
            "modelmon_quality_estimate",
            "modelmon_model_process_cpu_seconds_total",
        ):
            wait_until(lambda q=ready: query_prometheus(url, q), 90, what=ready)
        for counter in (
            "modelmon_predictions_total",
            "modelmon_agent_calls_total",
            "modelmon_agent_publish_latency_seconds_count",
        ):
            # rate() needs two scrapes of each target with the counter moving
            wait_until(
                lambda c=counter: query_prometheus(url, f"rate({c}[30s]) > 0"), 30, what=f"{counter} moving"
            )
        assert report.dashboards_path is not None
        results: dict[str, list[str]] = {"empty": [], "error": []}
        checked = 0
        for path in sorted((report.dashboards_path / "json").glob("*.json")):
            dashboard = json.loads(path.read_text())
            for panel in dashboard["panels"]:
                for target in panel.get("targets", []):
                    checked += 1
                    where = f"{dashboard['title']} / {panel['title']}: {target['expr']}"
                    try:
                        data = query_prometheus(url, substitute(target["expr"]))
                    except Exception as exc:
                        results["error"].append(f"{where} → {exc}")
                        continue
                    if not data and panel["title"] not in EMPTY:
                        results["empty"].append(where)
        assert checked > 40
        assert results == {"empty": [], "error": []}
    finally:
        stop.set()
        demo.join(60)
