"""One model's dashboard, from its catalog entry: a panel per feature and output, per segment
column, quality only for a model with a quality section."""

from __future__ import annotations

from grafanalib.core import Dashboard

from agent import metric_catalog as mc
from agent.catalog.links import model_dashboard_uid
from agent.catalog.model import ModelSpec
from dashboards.common import dashboard, model_variables
from dashboards.panels import Layout, Query, stat, table, timeseries
from dashboards.promql import MODEL, WHOLE, histogram_quantile, rate, select

__all__ = ["model_dashboard", "model_uid"]

POD = MODEL | {"pod": "=~.+"}


def model_uid(model: ModelSpec) -> str:
    return model_dashboard_uid(model)


def _overview(layout: Layout, model: ModelSpec) -> None:
    layout.row("Overview")
    layout.add(
        stat("Dataset drift share", Query(f"max({select(mc.DATASET_DRIFT_SHARE, WHOLE)})"), "percentunit"), 5
    )
    if model.quality is not None:
        metric = "accuracy" if model.quality.task.value == "classification" else "rmse"
        layout.add(
            stat(
                f"{metric} (realized)", Query(f"max({select(mc.QUALITY_METRIC, WHOLE | {'metric': metric})})")
            ),
            5,
        )
    layout.add(stat("p99 latency", Query(histogram_quantile(0.99, mc.PREDICTION_LATENCY, MODEL)), "s"), 5)
    layout.add(stat("Predictions / s", Query(f"sum({rate(mc.PREDICTIONS, WHOLE)})"), "reqps"), 5)
    layout.add(stat("Error ratio", Query(f"max({select(mc.WINDOW_ERROR_RATIO, WHOLE)})"), "percentunit"), 4)


def _drift(layout: Layout, model: ModelSpec) -> None:
    layout.row("Data drift")
    for column in model.features:
        matchers = WHOLE | {"feature": column.name, "role": "input"}
        layout.add(
            timeseries(
                f"Drift of {column.name}",
                [
                    Query(select(mc.FEATURE_DRIFT_SCORE, matchers), "{{version}} {{statistic}}"),
                    Query(select(mc.FEATURE_DRIFT_THRESHOLD, matchers), "threshold {{version}}"),
                ],
                description=f"Drift score of feature {column.name} per closed window against its reference.",
                width=8,
            )
        )
    layout.add(
        table(
            "Drift table (last window)",
            [
                Query(select(mc.FEATURE_DRIFT_SCORE, WHOLE), "score"),
                Query(select(mc.FEATURE_DRIFT_DETECTED, WHOLE), "drifted"),
            ],
            description="Every feature and output: score and whether it drifted in the last closed window.",
        )
    )
    layout.row("Prediction and multivariate drift")
    for column in model.outputs:
        matchers = WHOLE | {"feature": column.name, "role": "output"}
        layout.add(
            timeseries(
                f"Prediction drift of {column.name}",
                [
                    Query(select(mc.FEATURE_DRIFT_SCORE, matchers), "{{version}} {{statistic}}"),
                    Query(select(mc.FEATURE_DRIFT_THRESHOLD, matchers), "threshold {{version}}"),
                ],
                width=8,
            )
        )
    layout.add(
        timeseries(
            "Multivariate drift",
            [
                Query(select(mc.MULTIVARIATE_DRIFT_SCORE, WHOLE), "{{method}} {{version}}"),
                Query(select(mc.MULTIVARIATE_DRIFT_UPPER, WHOLE), "{{method}} upper bound"),
            ],
            width=8,
        )
    )
    layout.add(
        timeseries(
            "Dataset drift share",
            [Query(select(mc.DATASET_DRIFT_SHARE, WHOLE), "{{version}}")],
            "percentunit",
            width=8,
        )
    )
    for segment in model.segments:
        matchers = MODEL | {"segment": f"=~{segment.column}=.*"}
        layout.add(
            timeseries(
                f"Drift share by {segment.column}",
                [Query(select(mc.DATASET_DRIFT_SHARE, matchers), "{{segment}}")],
                "percentunit",
                width=8,
            )
        )


def _quality(layout: Layout, model: ModelSpec) -> None:
    if model.quality is None:
        return
    layout.row("Quality")
    metric = "accuracy" if model.quality.task.value == "classification" else "rmse"
    by_metric = WHOLE | {"metric": metric}
    queries = [Query(select(mc.QUALITY_METRIC, by_metric), f"{metric} realized {{{{version}}}}")]
    if model.quality.task.value == "classification" and model.quality.scores:
        queries += [
            Query(select(mc.QUALITY_ESTIMATE, by_metric), f"{metric} estimated (CBPE) {{{{version}}}}"),
            Query(select(mc.QUALITY_ESTIMATE_LOWER, by_metric), "lower"),
            Query(select(mc.QUALITY_ESTIMATE_UPPER, by_metric), "upper"),
        ]
    layout.add(timeseries(f"{metric}: realized and estimated", queries, width=12))
    layout.add(
        timeseries(
            "Label coverage",
            [Query(select(mc.QUALITY_LABEL_COVERAGE, WHOLE), "{{version}}")],
            "percentunit",
            width=12,
        )
    )


def _serving(layout: Layout) -> None:
    layout.row("Latency and errors")
    layout.add(
        timeseries(
            "Latency percentiles",
            [
                Query(histogram_quantile(q, mc.PREDICTION_LATENCY, MODEL), f"p{round(q * 100)}")
                for q in (0.5, 0.9, 0.99)
            ],
            "s",
            width=12,
        )
    )
    layout.add(
        timeseries(
            "Error ratio",
            [Query(select(mc.WINDOW_ERROR_RATIO, WHOLE), "{{version}}")],
            "percentunit",
            width=12,
        )
    )


def _agent(layout: Layout) -> None:
    layout.row("Agent (sidecar)")
    layout.add(
        timeseries(
            "Calls by status",
            [Query(f"sum by (status_class) ({rate(mc.AGENT_CALLS, MODEL)})", "{{status_class}}")],
            "reqps",
            width=8,
        )
    )
    layout.add(
        timeseries(
            "Spool",
            [Query(f"sum({select(mc.AGENT_SPOOL_BYTES, MODEL)})", "bytes waiting for Kafka")],
            "bytes",
            width=8,
        )
    )
    layout.add(
        timeseries(
            "Dropped records by reason",
            [Query(f"sum by (reason) ({rate(mc.AGENT_DROPPED, MODEL)})", "{{reason}}")],
            "ops",
            description="Every record the agent did not deliver; 0 when all is well.",
            width=8,
        )
    )


def _hardware(layout: Layout) -> None:
    layout.row("Hardware of the model's pods")
    layout.add(
        timeseries(
            "CPU",
            [
                Query(
                    f"sum by (pod) ({rate(mc.HARDWARE_METRIC['model_process_cpu_seconds_total'], POD)})",
                    "{{pod}}",
                )
            ],
            "short",
            width=8,
        )
    )
    layout.add(
        timeseries(
            "Memory",
            [
                Query(select(mc.HARDWARE_METRIC["model_process_resident_memory_bytes"], POD), "RSS {{pod}}"),
                Query(
                    select(mc.HARDWARE_METRIC["container_memory_working_set_bytes"], POD),
                    "working set {{pod}} ({{container}})",
                ),
            ],
            "bytes",
            width=8,
        )
    )
    layout.add(
        timeseries(
            "GPU",
            [
                Query(
                    select(mc.HARDWARE_METRIC["gpu_model_sm_utilization_ratio"], POD),
                    "this pod's SM share {{pod}} gpu {{gpu}}",
                ),
                Query(
                    f"max by (gpu_uuid, gpu) ({select(mc.HARDWARE_METRIC['gpu_utilization_ratio'], POD | {'source': 'nvml'})})",
                    "device {{gpu}}",
                ),
            ],
            "percentunit",
            width=8,
        )
    )


def model_dashboard(model: ModelSpec) -> Dashboard:
    layout = Layout()
    _overview(layout, model)
    _drift(layout, model)
    _quality(layout, model)
    _serving(layout)
    _agent(layout)
    _hardware(layout)
    return dashboard(
        title=f"modelmon / {model.identity}",
        uid=model_uid(model),
        kind="model",
        description=f"Drift, quality, latency, agent and hardware of {model.identity}.",
        templates=model_variables(model.namespace, model.name),
        runbook="#model",
        panels=layout.panels,
        refresh="30s",
    )
