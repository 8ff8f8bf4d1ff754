"""The Prometheus exporter: window results and the aggregator's own counters on ``/metrics``.

A custom collector renders, at scrape time, the latest closed window of every model version and
cumulative counters; names, help, units and labels come from ``agent.metric_catalog``.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from agent import metric_catalog as mc
from agent.catalog.model import ModelSpec
from drift.adapters.stats import AggregatorStats
from drift.core.compute import LATENCY_QUANTILES
from drift.core.decode import RejectReason
from drift.core.multiple_testing import drift_streak
from drift.core.quality_windows import QualityResult
from drift.core.results import DriftStatus, WindowResult

RECORD_REJECT_REASONS = ("late", "null_required", "compute_error")

__all__ = ["ModelmonCollector", "ResultStore", "serve_metrics"]

_RECONCILED_WINDOWS = 10_000  # estimates kept for reconciliation (per aggregator, all models)


@dataclass(frozen=True, slots=True)
class ModelVersionState:
    """What the exporter shows of one model version: its last window and running totals."""

    model: ModelSpec
    latest: WindowResult
    predictions: int
    windows: int
    drift_streak: int

    @property
    def drift_sustained(self) -> bool:
        return self.drift_streak >= self.model.drift.consecutive_windows


class ResultStore:
    """The latest result per (model, version, segment), running totals and drift streaks; a
    ``WindowSink``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[tuple[str, str, str], ModelVersionState] = {}
        self._quality: dict[tuple[str, str, str], tuple[ModelSpec, QualityResult]] = {}
        # Estimates of recent windows, to reconcile with the realized metrics when labels arrive.
        self._estimates: OrderedDict[tuple[str, str, int], dict[str, float]] = OrderedDict()
        self._errors: dict[tuple[str, str, str], tuple[ModelSpec, int, dict[str, float]]] = {}

    def publish(self, model: ModelSpec, result: WindowResult, frame: object = None) -> None:
        key = (result.key.model, result.key.version, result.key.segment)
        if result.estimates and not result.key.segment:
            with self._lock:
                window = (result.key.model, result.key.version, result.key.start_us)
                self._estimates[window] = {e.metric: e.value for e in result.estimates}
                while len(self._estimates) > _RECONCILED_WINDOWS:
                    self._estimates.popitem(last=False)
        fresh = result.records if result.fresh_records is None else result.fresh_records
        with self._lock:
            state = self._states.get(key)
            if state is None:
                self._states[key] = ModelVersionState(
                    model, result, fresh, 1, drift_streak(0, result.dataset_drifted)
                )
                return
            newer = state.latest.key.start_us <= result.key.start_us
            self._states[key] = ModelVersionState(
                model,
                result if newer else state.latest,
                state.predictions + fresh,
                state.windows + 1,
                drift_streak(state.drift_streak, result.dataset_drifted) if newer else state.drift_streak,
            )

    def snapshot(self) -> list[ModelVersionState]:
        with self._lock:
            return list(self._states.values())

    def publish_quality(self, model: ModelSpec, result: QualityResult) -> None:
        """Keep the latest window (by prediction time) that has labels, per model version."""
        if not result.labelled:
            return
        key = (result.key.model, result.key.version, result.key.segment)
        with self._lock:
            estimated = self._estimates.get((key[0], key[1], result.key.start_us)) if not key[2] else None
            if estimated is not None:
                errors = {
                    m: result.metrics.values[m] - v
                    for m, v in estimated.items()
                    if m in result.metrics.values
                }
                previous = self._errors.get(key)
                if errors and (previous is None or previous[1] <= result.key.start_us):
                    self._errors[key] = (model, result.key.start_us, errors)
            current = self._quality.get(key)
            if current is None or current[1].key.start_us <= result.key.start_us:
                self._quality[key] = (model, result)

    def quality(self) -> list[tuple[ModelSpec, QualityResult]]:
        with self._lock:
            return list(self._quality.values())

    def estimate_errors(self) -> list[tuple[ModelSpec, str, dict[str, float]]]:
        """Per model version: realized minus estimated metrics of the latest reconciled window."""
        with self._lock:
            return [(model, key[1], dict(errors)) for key, (model, _, errors) in self._errors.items()]


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
        yield from self._quality_metrics()
        yield from self._histograms()
        yield from self._aggregator_metrics()

    def _quality_metrics(self) -> Iterator[Metric]:
        specs = (
            mc.QUALITY_METRIC,
            mc.QUALITY_CLASS_METRIC,
            mc.QUALITY_CONFUSION,
            mc.QUALITY_LABEL_COVERAGE,
            mc.QUALITY_LABELLED,
            mc.QUALITY_WINDOW_END,
        )
        families = {spec.name: _family(spec) for spec in specs}
        for model, result in self.store.quality():
            ids = (model.namespace, model.name, result.key.version, result.key.segment)
            for name, value in sorted(result.metrics.values.items()):
                _add(families[mc.QUALITY_METRIC.name], mc.QUALITY_METRIC, (*ids, name), value)
            for cls, scores in result.metrics.per_class.items():
                for name in ("precision", "recall", "f1"):
                    spec = mc.QUALITY_CLASS_METRIC
                    _add(families[spec.name], spec, (*ids, cls, name), getattr(scores, name))
            classes = model.quality.classes if model.quality else ()
            for i, row in enumerate(result.metrics.confusion):
                for j, count in enumerate(row):
                    spec = mc.QUALITY_CONFUSION
                    _add(families[spec.name], spec, (*ids, classes[i], classes[j]), count)
            _add(families[mc.QUALITY_LABEL_COVERAGE.name], mc.QUALITY_LABEL_COVERAGE, ids, result.coverage)
            _add(families[mc.QUALITY_LABELLED.name], mc.QUALITY_LABELLED, ids, result.labelled)
            _add(families[mc.QUALITY_WINDOW_END.name], mc.QUALITY_WINDOW_END, ids, result.end_us / 1e6)
        errors = _family(mc.QUALITY_ESTIMATE_ERROR)
        for model, version, values in self.store.estimate_errors():
            for name, value in sorted(values.items()):
                _add(
                    errors, mc.QUALITY_ESTIMATE_ERROR, (model.namespace, model.name, version, "", name), value
                )
        yield from families.values()
        yield errors

    def _histograms(self) -> Iterator[Metric]:
        with self.stats.lock:
            delays = {k: (h.cumulative(), h.total) for k, h in self.stats.label_delay.items()}
            latency = {k: (h.cumulative(), h.total) for k, h in self.stats.latency.items()}
            joins = {k: dict(v) for k, v in self.stats.label_join.items()}
            pending = {k: dict(v) for k, v in self.stats.label_pending.items()}
        for spec, histograms in ((mc.LABEL_DELAY, delays), (mc.PREDICTION_LATENCY, latency)):
            family = _family(spec)
            for labels, (buckets, total) in histograms.items():
                base = dict(zip(spec.labels, labels, strict=True))
                for le, count in buckets:
                    family.add_sample(spec.name + "_bucket", {**base, "le": le}, count)
                family.add_sample(spec.name + "_count", base, buckets[-1][1])
                family.add_sample(spec.name + "_sum", base, total)
            yield family
        events = _family(mc.LABEL_JOIN_EVENTS)
        for (namespace, name), counts in joins.items():
            for event, value in counts.items():
                _add(events, mc.LABEL_JOIN_EVENTS, (namespace, name, event), value)
        yield events
        yield from self._label_api()
        waiting = _family(mc.LABEL_JOIN_PENDING)
        for (namespace, name), kinds in pending.items():
            for kind, value in kinds.items():
                _add(waiting, mc.LABEL_JOIN_PENDING, (namespace, name, kind), value)
        yield waiting

    def _window_metrics(self) -> Iterator[Metric]:
        families = {
            spec.name: _family(spec)
            for spec in (
                mc.FEATURE_DRIFT_SCORE,
                mc.FEATURE_DRIFT_P_VALUE,
                mc.FEATURE_DRIFT_THRESHOLD,
                mc.FEATURE_DRIFT_DETECTED,
                mc.DATASET_DRIFT_SHARE,
                mc.DATASET_DRIFT_DETECTED,
                mc.DATASET_DRIFT_STREAK,
                mc.DATASET_DRIFT_SUSTAINED,
                mc.MULTIVARIATE_DRIFT_SCORE,
                mc.MULTIVARIATE_DRIFT_UPPER,
                mc.MULTIVARIATE_DRIFT_DETECTED,
                mc.QUALITY_ESTIMATE,
                mc.QUALITY_ESTIMATE_LOWER,
                mc.QUALITY_ESTIMATE_UPPER,
                mc.WINDOW_RECORDS,
                mc.WINDOW_ERROR_RATIO,
                mc.WINDOW_LATENCY,
                mc.WINDOW_END,
                mc.PREDICTIONS,
                mc.WINDOWS_CLOSED,
            )
        }

        def put(spec: mc.MetricSpec, labels: tuple[str, ...], value: float, suffix: str = "") -> None:
            _add(families[spec.name], spec, labels, value, suffix)

        for state in self.store.snapshot():
            model, result = state.model, state.latest
            ids = (model.namespace, model.name, result.key.version, result.key.segment)
            for column in result.columns:
                if column.status is not DriftStatus.OK or math.isnan(column.score):
                    continue
                labels = (*ids, column.column, column.role, column.statistic)
                put(mc.FEATURE_DRIFT_SCORE, labels, column.score)
                if column.p_value is not None:
                    put(mc.FEATURE_DRIFT_P_VALUE, labels, column.p_value)
                put(mc.FEATURE_DRIFT_THRESHOLD, labels, column.threshold)
                put(mc.FEATURE_DRIFT_DETECTED, labels, float(column.drifted))
            if result.drift_share is not None:
                put(mc.DATASET_DRIFT_SHARE, ids, result.drift_share)
                put(mc.DATASET_DRIFT_DETECTED, ids, float(result.dataset_drifted))
            put(mc.DATASET_DRIFT_STREAK, ids, state.drift_streak)
            put(mc.DATASET_DRIFT_SUSTAINED, ids, float(state.drift_sustained))
            for multivariate in result.multivariate:
                method = (*ids, multivariate.method)
                put(mc.MULTIVARIATE_DRIFT_SCORE, method, multivariate.score)
                put(mc.MULTIVARIATE_DRIFT_UPPER, method, multivariate.upper)
                put(mc.MULTIVARIATE_DRIFT_DETECTED, method, float(multivariate.drifted))
            for estimate in result.estimates:
                metric = (*ids, estimate.metric)
                put(mc.QUALITY_ESTIMATE, metric, estimate.value)
                put(mc.QUALITY_ESTIMATE_LOWER, metric, estimate.lower)
                put(mc.QUALITY_ESTIMATE_UPPER, metric, estimate.upper)
            put(mc.WINDOW_RECORDS, ids, result.records)
            put(mc.WINDOW_ERROR_RATIO, ids, result.error_ratio)
            put(mc.WINDOW_END, ids, result.end_seconds)
            latency = result.latency
            if latency is not None:
                quantiles = (latency.p50, latency.p90, latency.p95, latency.p99)
                for q, value in zip(LATENCY_QUANTILES, quantiles, strict=True):
                    families[mc.WINDOW_LATENCY.name].add_sample(
                        mc.WINDOW_LATENCY.name,
                        {**dict(zip(mc.WINDOW_LABELS, ids, strict=True)), "quantile": str(q)},
                        value,
                    )
                put(mc.WINDOW_LATENCY, ids, latency.count, "_count")
                put(mc.WINDOW_LATENCY, ids, latency.total, "_sum")
            put(mc.PREDICTIONS, ids, state.predictions)
            put(mc.WINDOWS_CLOSED, ids, state.windows)
        yield from families.values()

    def _label_api(self) -> Iterator[Metric]:
        snapshot = self.stats.label_api() if self.stats.label_api is not None else None
        if snapshot is None:
            return
        requests = _family(mc.LABEL_API_REQUESTS)
        for code, count in sorted(snapshot.get("requests", {}).items()):
            _add(requests, mc.LABEL_API_REQUESTS, (str(code),), count)
        labels = _family(mc.LABEL_API_LABELS)
        _add(labels, mc.LABEL_API_LABELS, ("accepted", ""), snapshot.get("labels_accepted", 0))
        for reason, count in sorted(snapshot.get("labels_rejected", {}).items()):
            _add(labels, mc.LABEL_API_LABELS, ("rejected", str(reason)), count)
        yield requests
        yield labels

    def _aggregator_metrics(self) -> Iterator[Metric]:
        with self.stats.lock:
            messages = dict(self.stats.messages)
            rejected = dict(self.stats.messages_rejected)
            records_rejected = dict(self.stats.records_rejected)
            commits = dict(self.stats.commits)
            overflow = dict(self.stats.segment_overflow)
            sink_failures = {(k,): v for k, v in self.stats.sink_failures.items()}
            partitions = dict(self.stats.partitions)
            lag = dict(self.stats.lag)
            open_windows = self.stats.open_windows
        # Every reason of every topic seen is exported, at 0 until it happens: increase() and alerts
        # then work from the first rejection on.
        for topic in messages:
            for reason in RejectReason:
                rejected.setdefault((topic, reason.value), 0)
            for reason in RECORD_REJECT_REASONS:
                records_rejected.setdefault((topic, reason), 0)
        for spec, values in (
            (mc.AGGREGATOR_MESSAGES, {(k,): v for k, v in messages.items()}),
            (mc.AGGREGATOR_MESSAGES_REJECTED, rejected),
            (mc.AGGREGATOR_RECORDS_REJECTED, records_rejected),
            (mc.AGGREGATOR_COMMITS, {(k,): v for k, v in commits.items()}),
            (mc.AGGREGATOR_PARTITIONS, {(k,): v for k, v in partitions.items()}),
            (mc.AGGREGATOR_LAG, {(t, str(p)): v for (t, p), v in lag.items()}),
            (mc.AGGREGATOR_OPEN_WINDOWS, {(): open_windows}),
            (mc.SEGMENT_OVERFLOW, overflow),
            (mc.AGGREGATOR_SINK_FAILURES, sink_failures),
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
