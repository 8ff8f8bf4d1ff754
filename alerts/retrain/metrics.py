"""The retraining service's ``/metrics``: requests, rejections, alert outcomes, deliveries, outbox states.

Counters of every known reason and outcome are exported at 0 from the start, so ``rate()`` and
alerts see the first increase. Trigger states are read from the outbox at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agent import metric_catalog as mc
from alerts.retrain.intake import ALERT_OUTCOMES
from alerts.retrain.outbox import Outbox

__all__ = ["REJECTION_REASONS", "RetrainMetrics"]

REJECTION_REASONS = (
    "missing_token",
    "wrong_token",
    "bad_signature",
    "stale_timestamp",
    "too_large",
    "malformed",
    "unsupported_media_type",
    "length_required",
)
DELIVERY_OUTCOMES = ("delivered", "retry", "failed")


def _counter(spec: mc.MetricSpec, registry: CollectorRegistry) -> Counter:
    return Counter(spec.name.removesuffix("_total"), spec.help, spec.labels, registry=registry)


class _OutboxCollector(Collector):
    def __init__(self, outbox: Outbox, clock: Callable[[], float]) -> None:
        self._outbox = outbox
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        states = GaugeMetricFamily(mc.RETRAIN_TRIGGERS.name, mc.RETRAIN_TRIGGERS.help, labels=["state"])
        for state, count in sorted(self._outbox.state_counts().items()):
            states.add_metric([str(state)], count)
        oldest = self._outbox.oldest_pending_at()
        age = GaugeMetricFamily(
            mc.RETRAIN_OLDEST_PENDING.name,
            mc.RETRAIN_OLDEST_PENDING.help,
            value=0.0 if oldest is None else max(0.0, self._clock() - oldest),
        )
        yield from (states, age)


class RetrainMetrics:
    """Owns a registry; the server exports it, the intake and the worker count into it."""

    def __init__(self, outbox: Outbox, clock: Callable[[], float], target_types: Iterable[str]) -> None:
        self.registry = CollectorRegistry()
        self.requests = _counter(mc.RETRAIN_REQUESTS, self.registry)
        self.rejected = _counter(mc.RETRAIN_REJECTED, self.registry)
        self.alerts = _counter(mc.RETRAIN_ALERTS, self.registry)
        self.deliveries = _counter(mc.RETRAIN_DELIVERIES, self.registry)
        for reason in REJECTION_REASONS:
            self.rejected.labels(reason)
        for outcome in ALERT_OUTCOMES:
            self.alerts.labels(outcome)
        for target in sorted(set(target_types)):
            for outcome in DELIVERY_OUTCOMES:
                self.deliveries.labels(target, outcome)
        self.registry.register(_OutboxCollector(outbox, clock))
