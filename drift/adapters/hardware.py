"""Hardware samples of the agents, exported next to the model's quality metrics.

A consumer thread reads ``modelmon.hardware.v1`` (its own consumer group, ``<group>.hardware``,
so aggregators split pods as they split models) and keeps the latest value of every series; the
Prometheus collector exports them with the model identity, version and pod, under the names of
``agent.metric_catalog.HARDWARE_METRICS``. A series not updated for ``expire_seconds`` (its pod went
away, or now read by another aggregator after a rebalance) is dropped after ``expire_seconds``, so
a pod is not counted twice for longer than that. Samples of unknown metrics or models are counted, never exported.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from agent import metric_catalog as mc
from agent.catalog.model import Catalog
from drift.adapters.prometheus import _add, _family
from drift.adapters.settings import AggregatorSettings
from drift.core.decode import HardwareBatch, Rejection, decode_hardware

__all__ = ["HardwareConsumer", "HardwareStore"]

log = logging.getLogger(__name__)

_SPECS = {spec.name: spec for spec in mc.HARDWARE_METRIC.values()}
_BASE = len(mc.HARDWARE_LABELS)


class HardwareStore(Collector):
    """The latest value of each hardware series; a Prometheus collector. Thread-safe."""

    def __init__(
        self, catalog: Catalog, expire_seconds: float = 30.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.catalog = catalog
        self.expire_seconds = expire_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._series: dict[tuple[str, tuple[str, ...]], tuple[float, float]] = {}  # → (value, updated)
        self.rejected: Counter[str] = Counter()

    def add(self, batch: HardwareBatch) -> None:
        model = self.catalog.get(batch.model)
        if model is None:
            self.reject("unknown_model", len(batch.frame))
            return
        now = self._clock()
        frame = batch.frame
        updates = {}
        rejected: Counter[str] = Counter()
        for metric, value, version, pod, labels in zip(
            frame["metric"].astype(str),
            frame["value"].to_numpy(),
            frame["model_version"].astype(str),
            frame["pod"].astype(str),
            frame["labels"],
            strict=True,
        ):
            spec = _SPECS.get(f"modelmon_{metric}")
            if spec is None:
                rejected["unknown_metric"] += 1
                continue
            own = dict(labels or ())
            values = (
                model.namespace,
                model.name,
                version,
                pod,
                *(own.get(n, "") for n in spec.labels[_BASE:]),
            )
            updates[(spec.name, values)] = (float(value), now)
        with self._lock:
            self._series.update(updates)
            self.rejected.update(rejected)

    def reject(self, reason: str, count: int = 1) -> None:
        with self._lock:
            self.rejected[reason] += count

    def snapshot(self) -> dict[tuple[str, tuple[str, ...]], float]:
        """Series name and label values → value, the expired ones removed."""
        cutoff = self._clock() - self.expire_seconds
        with self._lock:
            for key in [k for k, (_, updated) in self._series.items() if updated < cutoff]:
                del self._series[key]
            return {key: value for key, (value, _) in self._series.items()}

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        by_name: dict[str, list[tuple[tuple[str, ...], float]]] = {}
        for (name, labels), value in self.snapshot().items():
            by_name.setdefault(name, []).append((labels, value))
        for name, series in sorted(by_name.items()):
            spec = _SPECS[name]
            family = _family(spec)
            for labels, value in series:
                _add(family, spec, labels, value)
            yield family
        spec = mc.HARDWARE_SAMPLES_REJECTED
        rejected = _family(spec)
        with self._lock:
            for reason, count in sorted(self.rejected.items()):
                _add(rejected, spec, (reason,), count)
        yield rejected


class HardwareConsumer:
    """Reads the hardware topic into a :class:`HardwareStore` on a thread."""

    def __init__(self, settings: AggregatorSettings, store: HardwareStore, consumer: Any = None) -> None:
        self.settings = settings
        self.store = store
        self._consumer = consumer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="modelmon-hardware", daemon=True)

    def _make_consumer(self) -> Any:
        from kafka import KafkaConsumer

        s = self.settings
        consumer = KafkaConsumer(
            **s.kafka.client_config(),
            group_id=f"{s.group_id}.hardware",
            enable_auto_commit=True,
            auto_offset_reset="latest",  # only the current values matter; no replay of old cycles
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
        )
        consumer.subscribe([s.hardware_topic])
        return consumer

    def _run(self) -> None:
        consumer = self._consumer or self._make_consumer()
        try:
            while not self._stop.is_set():
                for records in consumer.poll(timeout_ms=self.settings.poll_timeout_ms).values():
                    for record in records:
                        self._take(record)
        except Exception:  # the hardware view must never take the aggregator down
            log.exception("the hardware consumer stopped")
        finally:
            consumer.close()

    def _take(self, record: Any) -> None:
        """One message into the store; a bad one is counted and skipped, never the end of the loop."""
        decoded = decode_hardware(record.key, record.value, record.headers)
        if isinstance(decoded, Rejection):
            log.warning("hardware message rejected (%s): %s", decoded.reason.value, decoded.detail)
            self.store.reject("malformed")
            return
        try:
            self.store.add(decoded)
        except (TypeError, ValueError, KeyError) as exc:
            log.warning("hardware message of %s not usable: %s", decoded.model, exc)
            self.store.reject("malformed", len(decoded.frame))

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
