"""The Prometheus exporter: window results and the aggregator's own counters on ``/metrics``.

A custom collector renders, at scrape time, the latest closed window of every model version and
cumulative counters; names, help, units and labels come from ``agent.metric_catalog``.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from agent import metric_catalog as mc
from agent.catalog.model import ModelSpec
from drift.adapters.stats import AggregatorStats
from drift.core.compute import LATENCY_QUANTILES
from drift.core.results import DriftStatus, WindowResult

__all__ = ["ModelmonCollector", "ResultStore", "serve_metrics"]


class ResultStore:
    """The latest result per (model, version) and cumulative counts; a ``WindowSink``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[tuple[str, str], tuple[ModelSpec, WindowResult]] = {}
        self._predictions: Counter[tuple[str, str]] = Counter()
        self._windows: Counter[tuple[str, str]] = Counter()

    def publish(self, model: ModelSpec, result: WindowResult, frame: object = None) -> None:
        key = (result.key.model, result.key.version)
        with self._lock:
            current = self._latest.get(key)
            if current is None or current[1].key.start_us <= result.key.start_us:
                self._latest[key] = (model, result)
            self._predictions[key] += result.records
            self._windows[key] += 1

    def snapshot(
        self,
    ) -> tuple[list[tuple[ModelSpec, WindowResult]], dict[tuple[str, str], int], dict[tuple[str, str], int]]:
        with self._lock:
            return list(self._latest.values()), dict(self._predictions), dict(self._windows)


def _family(spec: mc.MetricSpec) -> Metric:
    name = spec.name.removesuffix("_total") if spec.type == "counter" else spec.name
    return Metric(name, spec.help, spec.type, unit="")


def _add(
    metric: Metric, spec: mc.MetricSpec, values: tuple[str, ...], value: float, suffix: str = ""
) -> None:
    metric.add_sample(spec.name + suffix, dict(zip(spec.labels, values, strict=True)), value)


class ModelmonCollector(Collector):
    """Renders a :class:`ResultStore` and :class:`AggregatorStats` in Prometheus's format."""

    def __init__(self, store: ResultStore, stats: AggregatorStats) -> None:
        self.store = store
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        yield from self._window_metrics()
        yield from self._aggregator_metrics()

    def _window_metrics(self) -> Iterator[Metric]:
        latest, predictions, windows = self.store.snapshot()
        families = {
            spec.name: _family(spec)
            for spec in (
                mc.FEATURE_DRIFT_SCORE,
                mc.FEATURE_DRIFT_THRESHOLD,
                mc.FEATURE_DRIFT_DETECTED,
                mc.DATASET_DRIFT_SHARE,
                mc.DATASET_DRIFT_DETECTED,
                mc.WINDOW_RECORDS,
                mc.WINDOW_ERROR_RATIO,
                mc.WINDOW_LATENCY,
                mc.WINDOW_END,
                mc.PREDICTIONS,
                mc.WINDOWS_CLOSED,
            )
        }
        for model, result in latest:
            ids = (model.namespace, model.name, result.key.version)
            for column in result.columns:
                if column.status is not DriftStatus.OK or math.isnan(column.score):
                    continue
                labels = (*ids, column.column, column.role, column.statistic)
                _add(families[mc.FEATURE_DRIFT_SCORE.name], mc.FEATURE_DRIFT_SCORE, labels, column.score)
                _add(
                    families[mc.FEATURE_DRIFT_THRESHOLD.name],
                    mc.FEATURE_DRIFT_THRESHOLD,
                    labels,
                    column.threshold,
                )
                _add(
                    families[mc.FEATURE_DRIFT_DETECTED.name],
                    mc.FEATURE_DRIFT_DETECTED,
                    labels,
                    float(column.drifted),
                )
            if result.drift_share is not None:
                _add(families[mc.DATASET_DRIFT_SHARE.name], mc.DATASET_DRIFT_SHARE, ids, result.drift_share)
                _add(
                    families[mc.DATASET_DRIFT_DETECTED.name],
                    mc.DATASET_DRIFT_DETECTED,
                    ids,
                    float(result.dataset_drifted),
                )
            _add(families[mc.WINDOW_RECORDS.name], mc.WINDOW_RECORDS, ids, result.records)
            _add(families[mc.WINDOW_ERROR_RATIO.name], mc.WINDOW_ERROR_RATIO, ids, result.error_ratio)
            _add(families[mc.WINDOW_END.name], mc.WINDOW_END, ids, result.end_seconds)
            latency = result.latency
            if latency is not None:
                family = families[mc.WINDOW_LATENCY.name]
                quantiles = (latency.p50, latency.p90, latency.p95, latency.p99)
                for q, value in zip(LATENCY_QUANTILES, quantiles, strict=True):
                    family.add_sample(
                        mc.WINDOW_LATENCY.name,
                        {**dict(zip(mc.MODEL_LABELS, ids, strict=True)), "quantile": str(q)},
                        value,
                    )
                _add(family, mc.WINDOW_LATENCY, ids, latency.count, "_count")
                _add(family, mc.WINDOW_LATENCY, ids, latency.total, "_sum")
            key = (result.key.model, result.key.version)
            _add(families[mc.PREDICTIONS.name], mc.PREDICTIONS, ids, predictions.get(key, 0))
            _add(families[mc.WINDOWS_CLOSED.name], mc.WINDOWS_CLOSED, ids, windows.get(key, 0))
        yield from families.values()

    def _aggregator_metrics(self) -> Iterator[Metric]:
        with self.stats.lock:
            messages = dict(self.stats.messages)
            rejected = dict(self.stats.messages_rejected)
            records_rejected = dict(self.stats.records_rejected)
            commits = dict(self.stats.commits)
            partitions = dict(self.stats.partitions)
            lag = dict(self.stats.lag)
            open_windows = self.stats.open_windows
        for spec, values in (
            (mc.AGGREGATOR_MESSAGES, {(k,): v for k, v in messages.items()}),
            (mc.AGGREGATOR_MESSAGES_REJECTED, rejected),
            (mc.AGGREGATOR_RECORDS_REJECTED, records_rejected),
            (mc.AGGREGATOR_COMMITS, {(k,): v for k, v in commits.items()}),
            (mc.AGGREGATOR_PARTITIONS, {(k,): v for k, v in partitions.items()}),
            (mc.AGGREGATOR_LAG, {(t, str(p)): v for (t, p), v in lag.items()}),
            (mc.AGGREGATOR_OPEN_WINDOWS, {(): open_windows}),
        ):
            family = _family(spec)
            for labels, value in values.items():
                _add(family, spec, labels, float(value))
            yield family


def serve_metrics(
    store: ResultStore, stats: AggregatorStats, host: str, port: int
) -> tuple[Any, CollectorRegistry, int]:
    """Serve ``/metrics`` in a background thread. Returns the server, its registry and the bound port."""
    registry = CollectorRegistry()
    registry.register(ModelmonCollector(store, stats))
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server, registry, server.server_port
