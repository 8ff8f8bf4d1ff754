"""The pipeline's health: is data flowing from the agents through Kafka into closed windows?"""

from __future__ import annotations

from grafanalib.core import Dashboard

from agent import metric_catalog as mc
from agent.catalog import links
from dashboards.common import dashboard, variables
from dashboards.panels import Layout, Query, timeseries
from dashboards.promql import histogram_quantile, rate, select

__all__ = ["PIPELINE_UID", "pipeline_dashboard"]

PIPELINE_UID = links.PIPELINE_UID


def pipeline_dashboard() -> Dashboard:
    layout = Layout()
    layout.row("Aggregator")
    layout.add(
        timeseries(
            "Consumer lag", [Query(f"sum by (topic) ({select(mc.AGGREGATOR_LAG)})", "{{topic}}")], "short"
        )
    )
    layout.add(
        timeseries(
            "Windows closed / s",
            [
                Query(
                    f"sum by (namespace, model) ({rate(mc.WINDOWS_CLOSED, {'namespace': '=~$namespace', 'model': '=~$model', 'segment': ''})})",
                    "{{namespace}}/{{model}}",
                )
            ],
            "ops",
        )
    )
    layout.add(
        timeseries(
            "Messages / s", [Query(f"sum by (topic) ({rate(mc.AGGREGATOR_MESSAGES)})", "{{topic}}")], "ops"
        )
    )
    layout.add(
        timeseries(
            "Rejected messages and records / s, by reason",
            [
                Query(
                    f"sum by (topic, reason) ({rate(mc.AGGREGATOR_MESSAGES_REJECTED)})",
                    "messages {{topic}} {{reason}}",
                ),
                Query(
                    f"sum by (topic, reason) ({rate(mc.AGGREGATOR_RECORDS_REJECTED)})",
                    "records {{topic}} {{reason}}",
                ),
            ],
            "ops",
            description="Counted, never silent: what the aggregator could not use, and why.",
        )
    )
    layout.row("Agents")
    layout.add(
        timeseries(
            "Records published / s",
            [
                Query(
                    f"sum by (namespace, model) ({rate(mc.AGENT_PUBLISHED, {'namespace': '=~$namespace', 'model': '=~$model'})})",
                    "{{namespace}}/{{model}}",
                )
            ],
            "ops",
        )
    )
    layout.add(
        timeseries(
            "Publish latency p99",
            [
                Query(
                    histogram_quantile(
                        0.99, mc.AGENT_PUBLISH_LATENCY, {"namespace": "=~$namespace", "model": "=~$model"}
                    ),
                    "p99",
                )
            ],
            "s",
        )
    )
    return dashboard(
        title="modelmon / pipeline",
        uid=PIPELINE_UID,
        kind="pipeline",
        description="Consumer lag, windows closed, rejections: the path from the agents to the metrics.",
        templates=variables(),
        runbook="#pipeline",
        panels=layout.panels,
        refresh="1m",
    )
