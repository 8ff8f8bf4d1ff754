"""The fleet overview: every model side by side; each model's own dashboard is in the links menu."""

from __future__ import annotations

from grafanalib.core import Dashboard

from agent import metric_catalog as mc
from agent.catalog import links
from dashboards.common import dashboard, variables
from dashboards.panels import Layout, Query, table, timeseries
from dashboards.promql import histogram_quantile, rate, select

__all__ = ["FLEET_UID", "fleet_dashboard"]

FLEET_UID = links.FLEET_UID
FLEET = {"namespace": "=~$namespace", "model": "=~$model", "version": "=~$version"}
WHOLE = FLEET | {"segment": ""}
BY = "namespace, model"


def fleet_dashboard() -> Dashboard:
    layout = Layout()
    layout.row("Every model")
    layout.add(
        table(
            "Models now",
            [
                Query(f"max by ({BY}) ({select(mc.DATASET_DRIFT_SHARE, WHOLE)})", "drift share"),
                Query(f"sum by ({BY}) ({rate(mc.PREDICTIONS, WHOLE)})", "predictions / s"),
                Query(f"max by ({BY}) ({select(mc.WINDOW_ERROR_RATIO, WHOLE)})", "error ratio"),
                Query(f"min by ({BY}) ({select(mc.AGENT_MODEL_READY, FLEET)})", "agents ready"),
            ],
            description="One line per model: the last window's drift share, throughput, errors and whether its agents see the model ready.",
        )
    )
    layout.add(
        timeseries(
            "Dataset drift share",
            [Query(f"max by ({BY}) ({select(mc.DATASET_DRIFT_SHARE, WHOLE)})", "{{namespace}}/{{model}}")],
            "percentunit",
        )
    )
    layout.add(
        timeseries(
            "Accuracy, realized or estimated",
            [
                Query(
                    f"max by ({BY}) ({select(mc.QUALITY_METRIC, WHOLE | {'metric': 'accuracy'})})",
                    "{{namespace}}/{{model}} realized",
                ),
                Query(
                    f"max by ({BY}) ({select(mc.QUALITY_ESTIMATE, WHOLE | {'metric': 'accuracy'})})",
                    "{{namespace}}/{{model}} estimated",
                ),
            ],
            "percentunit",
        )
    )
    layout.add(
        timeseries(
            "p99 latency",
            [
                Query(
                    histogram_quantile(0.99, mc.PREDICTION_LATENCY, FLEET, by=("namespace", "model")),
                    "{{namespace}}/{{model}}",
                )
            ],
            "s",
        )
    )
    layout.add(
        timeseries(
            "Throughput",
            [Query(f"sum by ({BY}) ({rate(mc.PREDICTIONS, WHOLE)})", "{{namespace}}/{{model}}")],
            "reqps",
        )
    )
    layout.add(
        timeseries(
            "Error ratio",
            [Query(f"max by ({BY}) ({select(mc.WINDOW_ERROR_RATIO, WHOLE)})", "{{namespace}}/{{model}}")],
            "percentunit",
        )
    )
    layout.add(
        timeseries(
            "Agent health: records dropped / s",
            [Query(f"sum by ({BY}) ({rate(mc.AGENT_DROPPED, FLEET)})", "{{namespace}}/{{model}}")],
            "ops",
        )
    )
    layout.add(
        timeseries(
            "GPU use (GPUs busy with the model)",
            [
                Query(
                    f"sum by ({BY}) ({select(mc.HARDWARE_METRIC['gpu_model_sm_utilization_ratio'], FLEET)})",
                    "{{namespace}}/{{model}}",
                )
            ],
            "short",  # GPUs: a sum of per-GPU shares can pass 1
        )
    )
    return dashboard(
        title="modelmon / fleet",
        uid=FLEET_UID,
        kind="fleet",
        description="Every monitored model: drift, accuracy, latency, throughput, errors, agents and GPUs.",
        templates=variables(),
        runbook="#fleet",
        panels=layout.panels,
        refresh="1m",
    )
