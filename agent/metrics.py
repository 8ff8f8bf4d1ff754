"""The agent's own Prometheus metrics (the ``AGENT_*`` specs of ``agent.metric_catalog``).

Per-call figures (calls, latency, upstream errors) are counted as they happen; the pipeline's
counters (captured, published, spooled, dropped…) are read from the stages' stats at scrape time,
so the hot path pays for one histogram observation and one counter increment per call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agent import metric_catalog as mc
from agent.batcher import Batcher
from agent.capture import NO_CATALOG, Capturer
from agent.hardware import HardwareLoop
from agent.payloads import UnparsedReason
from agent.publisher import Publisher

__all__ = ["AgentMetrics"]

_PUBLISH_BUCKETS = (*mc.LATENCY_BUCKETS, 30.0)
DROP_REASONS = (
    "queue_full",
    "publisher_queue_full",
    "spool_full",
    "spool_error",
    "delivery_failed",
    "encode_error",
    "capture_error",
)
UNPARSED_REASONS = (*(r.value for r in UnparsedReason), "bad_value", NO_CATALOG)


def _family(spec: mc.MetricSpec) -> Any:
    kind = CounterMetricFamily if spec.type == "counter" else GaugeMetricFamily
    name = spec.name.removesuffix("_total") if spec.type == "counter" else spec.name
    return kind(name, spec.help, labels=list(spec.labels))


class AgentMetrics(Collector):
    """Metrics of one sidecar; also the proxy's observer. ``model`` is ``namespace/name``."""

    def __init__(self, model: str, version: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        namespace, _, name = model.partition("/")
        self._ids = (namespace, name, version)
        labels = list(mc.AGENT_LABELS)
        self._calls = Counter(
            mc.AGENT_CALLS.name, mc.AGENT_CALLS.help, [*labels, "status_class"], registry=self.registry
        )
        self._duration = Histogram(
            mc.AGENT_REQUEST_DURATION.name,
            mc.AGENT_REQUEST_DURATION.help,
            [*labels, "status_class"],
            buckets=mc.LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._upstream = Counter(
            mc.AGENT_UPSTREAM_ERRORS.name,
            mc.AGENT_UPSTREAM_ERRORS.help,
            [*labels, "reason"],
            registry=self.registry,
        )
        self._passthrough = Counter(
            mc.AGENT_PASSTHROUGH.name, mc.AGENT_PASSTHROUGH.help, [*labels, "reason"], registry=self.registry
        )
        self._publish = Histogram(
            mc.AGENT_PUBLISH_LATENCY.name,
            mc.AGENT_PUBLISH_LATENCY.help,
            labels,
            buckets=_PUBLISH_BUCKETS,
            registry=self.registry,
        ).labels(*self._ids)
        # Children per status class, made once: labels() costs a dict lookup under a lock.
        self._children: dict[str, tuple[Any, Any]] = {}
        self.capturer: Capturer | None = None
        self.batcher: Batcher | None = None
        self.publisher: Publisher | None = None
        self.model_ready: Callable[[], bool] = lambda: False
        self.hardware: HardwareLoop | None = None
        self.registry.register(self)

    # --- the proxy's observer -----------------------------------------------------------------
    def call_done(self, status_class: str, latency_seconds: float) -> None:
        children = self._children.get(status_class)
        if children is None:
            children = self._children[status_class] = (
                self._calls.labels(*self._ids, status_class),
                self._duration.labels(*self._ids, status_class),
            )
        children[0].inc()
        children[1].observe(latency_seconds)

    def upstream_error(self, reason: str) -> None:
        self._upstream.labels(*self._ids, reason).inc()

    def tunnelled(self, reason: str) -> None:
        self._passthrough.labels(*self._ids, reason).inc()

    def delivered(self, seconds: float) -> None:
        """The publisher's ``on_delivered`` hook."""
        self._publish.observe(seconds)

    # --- the pipeline, read at scrape time ----------------------------------------------------
    def describe(self) -> list[Metric]:
        return []  # the families below vary with the stages attached; not checked at registration

    def collect(self) -> Iterator[Metric]:
        ids = list(self._ids)
        captured = _family(mc.AGENT_CAPTURED_CALLS)
        rows = _family(mc.AGENT_CAPTURED_ROWS)
        unparsed = _family(mc.AGENT_UNPARSED)
        dropped = _family(mc.AGENT_DROPPED)
        published = _family(mc.AGENT_PUBLISHED)
        spooled = _family(mc.AGENT_SPOOLED)
        replayed = _family(mc.AGENT_REPLAYED)
        depth = _family(mc.AGENT_QUEUE_DEPTH)
        spool_bytes = _family(mc.AGENT_SPOOL_BYTES)
        spool_limit = _family(mc.AGENT_SPOOL_LIMIT)
        ready = _family(mc.AGENT_MODEL_READY)
        drops: dict[str, int] = dict.fromkeys(DROP_REASONS, 0)  # every reason, at 0 until it happens
        if self.capturer is not None:
            stats = self.capturer.stats()
            captured.add_metric(ids, stats.captured)
            rows.add_metric(ids, stats.rows)
            for reason, count in sorted((dict.fromkeys(UNPARSED_REASONS, 0) | stats.unparsed).items()):
                unparsed.add_metric([*ids, reason], count)
            for reason, count in stats.dropped.items():
                drops[reason] = drops.get(reason, 0) + count
            depth.add_metric([*ids, "capture"], stats.queued)
        if self.batcher is not None:
            batcher = self.batcher.stats()
            depth.add_metric([*ids, "batcher"], batcher.pending)
            drops["capture_error"] += batcher.failed
        if self.publisher is not None:
            pub = self.publisher.stats()
            published.add_metric(ids, pub.sent)
            spooled.add_metric(ids, pub.spooled)
            replayed.add_metric(ids, pub.replayed)
            spool_bytes.add_metric(ids, pub.spool_bytes)
            if pub.spool_max_bytes:
                spool_limit.add_metric(ids, pub.spool_max_bytes)
            depth.add_metric([*ids, "publisher"], pub.queued)
            for reason, count in pub.dropped.items():
                key = "publisher_queue_full" if reason == "queue_full" else reason
                drops[key] = drops.get(key, 0) + count
        for reason, count in sorted(drops.items()):
            dropped.add_metric([*ids, reason], count)
        ready.add_metric(ids, 1.0 if self.model_ready() else 0.0)
        yield from (
            captured,
            rows,
            unparsed,
            dropped,
            published,
            spooled,
            replayed,
            depth,
            spool_bytes,
            spool_limit,
            ready,
        )
        if self.hardware is not None:
            cycles = _family(mc.AGENT_HARDWARE_CYCLES)
            cycles.add_metric(ids, self.hardware.cycles)
            failures = _family(mc.AGENT_COLLECTOR_FAILURES)
            for collector, count in sorted(self.hardware.failures.items()):
                failures.add_metric([*ids, collector], count)
            yield from (cycles, failures)
