"""The evidence bundle a trigger carries: why the model should be retrained, with links to look.

Gathered once, before the first delivery attempt, and stored with the trigger so that every retry
sends the same bytes. Metric values come from Prometheus when it is configured; when it is not, or
a query fails, the bundle says so in ``errors`` and still carries the alerts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from agent import metric_catalog as mc
from agent.catalog.model import ModelSpec
from agent.metric_catalog import selector
from alerts.retrain.targets.payload import rfc3339
from alerts.retrain.trigger import Trigger

__all__ = ["SCHEMA", "Query", "build_evidence"]

logger = logging.getLogger(__name__)

SCHEMA = "modelmon.io/evidence/v1"
Query = Callable[[str], list[dict[str, Any]]]


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else rfc3339(seconds)


def _value(sample: dict[str, Any]) -> float | None:
    """The sample's value; None for NaN and infinities, which JSON (and so the targets) cannot carry."""
    value = float(sample["value"][1])
    return value if math.isfinite(value) else None


class _Reader:
    def __init__(self, query: Query, errors: list[str]) -> None:
        self._query = query
        self.errors = errors

    def samples(self, promql: str) -> list[dict[str, Any]]:
        try:
            return self._query(promql)
        except Exception as exc:
            self.errors.append(f"{promql}: {type(exc).__name__}: {exc}")
            return []

    def one(self, promql: str) -> float | None:
        found = self.samples(promql)
        return _value(found[0]) if found else None


def _metrics(read: _Reader, match: dict[str, str]) -> dict[str, Any]:
    whole = match | {"segment": ""}
    queries = {
        "dataset_drift_share": selector(mc.DATASET_DRIFT_SHARE, whole),
        "window_records": selector(mc.WINDOW_RECORDS, whole),
        "error_ratio": selector(mc.WINDOW_ERROR_RATIO, whole),
        "latency_p99_seconds": selector(mc.WINDOW_LATENCY, whole | {"quantile": "0.99"}),
        "accuracy": selector(mc.QUALITY_METRIC, whole | {"metric": "accuracy"}),
        "estimated_accuracy": selector(mc.QUALITY_ESTIMATE, whole | {"metric": "accuracy"}),
        "label_coverage": selector(mc.QUALITY_LABEL_COVERAGE, whole),
    }
    return {name: read.one(f"max({promql})") for name, promql in queries.items()}


def _drifted(read: _Reader, match: dict[str, str]) -> list[dict[str, Any]]:
    whole = match | {"segment": ""}
    keys = ("feature", "role", "statistic")
    detected = {
        tuple(s["metric"].get(k, "") for k in keys)
        for s in read.samples(f"{selector(mc.FEATURE_DRIFT_DETECTED, whole)} == 1")
    }
    if not detected:
        return []
    thresholds = {
        tuple(s["metric"].get(k, "") for k in keys): _value(s)
        for s in read.samples(selector(mc.FEATURE_DRIFT_THRESHOLD, whole))
    }
    found = []
    for sample in read.samples(selector(mc.FEATURE_DRIFT_SCORE, whole)):
        key = tuple(sample["metric"].get(k, "") for k in keys)
        if key in detected:
            feature, role, statistic = key
            found.append(
                {
                    "feature": feature,
                    "role": role,
                    "statistic": statistic,
                    "score": _value(sample),
                    "threshold": thresholds.get(key),
                }
            )
    return sorted(found, key=lambda f: (-abs(f["score"] or 0.0), f["feature"]))


def build_evidence(
    trigger: Trigger,
    alerts: list[dict[str, Any]],
    model: ModelSpec | None,
    *,
    query: Query | None = None,
    report_url: str | None = None,
) -> dict[str, Any]:
    """The bundle: the alerts, the window, drifted columns with their scores, metric values and links."""
    errors: list[str] = []
    match = {"namespace": trigger.namespace, "model": trigger.model}
    if trigger.version:
        match["version"] = trigger.version
    metrics: dict[str, Any] = {}
    drifted: list[dict[str, Any]] = []
    window_end: float | None = None
    if query is None:
        errors.append("no Prometheus configured: metric values left out")
    else:
        read = _Reader(query, errors)
        metrics = _metrics(read, match)
        drifted = _drifted(read, match)
        window_end = read.one(f"max({selector(mc.WINDOW_END, match | {'segment': ''})})")
    size = model.window.size_seconds if model else None
    first = alerts[0] if alerts else {}
    annotations = first.get("annotations", {})
    version = trigger.version or "*"
    report = (
        report_url.format(namespace=trigger.namespace, model=trigger.model, version=version)
        if report_url
        else f"modelmon report --catalog <catalog> --model {trigger.identity} --version {version} --out report.html"
    )
    return {
        "schema": SCHEMA,
        "trigger": {"id": trigger.id, "reason": trigger.reason, "created_at": _iso(trigger.created_at)},
        "model": {"namespace": trigger.namespace, "name": trigger.model, "version": trigger.version},
        "alerts": alerts,
        "window": {
            "size_seconds": size,
            "start": _iso(window_end - size) if window_end is not None and size else None,
            "end": _iso(window_end),
        },
        "drifted_features": drifted,
        "metrics": metrics,
        "links": {
            "dashboard": annotations.get("dashboard_url"),
            "runbook": annotations.get("runbook_url"),
            "alert": first.get("generatorURL"),
            "report": report,
        },
        "errors": errors,
    }
