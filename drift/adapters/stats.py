"""The aggregator's own counters, written by its loop and read by the exporter."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from agent.metric_catalog import LATENCY_BUCKETS, le_label

__all__ = ["AggregatorStats", "Histogram", "observe_latency"]


@dataclass
class Histogram:
    """A Prometheus histogram with fixed bounds, filled a batch at a time (vectorized)."""

    bounds: tuple[float, ...]
    counts: npt.NDArray[np.int64] = field(init=False)  # per bucket, the last one above every bound
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = np.zeros(len(self.bounds) + 1, dtype=np.int64)

    def observe(self, values: npt.NDArray[np.float64]) -> None:
        values = values[np.isfinite(values)]
        # ``le`` buckets: a value equal to a bound belongs to that bound's bucket.
        self.counts += np.bincount(
            np.searchsorted(self.bounds, values, side="left"), minlength=self.counts.size
        )
        self.total += float(values.sum())
        self.count += int(values.size)

    def cumulative(self) -> list[tuple[str, int]]:
        """(le, cumulative count) pairs, ``+Inf`` last, as the exposition format wants them."""
        running = np.cumsum(self.counts)
        return [(le_label(b), int(c)) for b, c in zip(self.bounds, running, strict=False)] + [
            ("+Inf", int(running[-1]))
        ]


@dataclass
class AggregatorStats:
    """Counters by label tuple. Writers and readers take ``lock``; readers get copies."""

    messages: Counter[str] = field(default_factory=Counter)  # by topic
    messages_rejected: Counter[tuple[str, str]] = field(default_factory=Counter)  # (topic, reason)
    records_rejected: Counter[tuple[str, str]] = field(default_factory=Counter)  # (topic, reason)
    commits: Counter[str] = field(default_factory=Counter)  # by topic
    sink_failures: Counter[str] = field(default_factory=Counter)  # by sink class (archive, store)
    # (namespace, model) -> the label join's counts by event, and its pending rows by kind
    label_join: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    label_pending: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    label_delay: dict[tuple[str, str], Histogram] = field(default_factory=dict)
    # The HTTP label endpoint's counts (requests by status code, labels accepted / rejected by reason).
    label_api: Callable[[], dict[str, Any]] | None = None
    # (namespace, model, version, status class) -> prediction latency
    latency: dict[tuple[str, str, str, str], Histogram] = field(default_factory=dict)
    # (namespace, model, version, segment column) -> records beyond the segment's cardinality cap
    segment_overflow: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    open_windows: int = 0
    partitions: dict[str, int] = field(default_factory=dict)  # topic -> assigned partitions
    lag: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> records
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def observe_latency(stats: AggregatorStats, namespace: str, name: str, frame: pd.DataFrame) -> None:
    """Count a batch's latencies into the fixed-bucket histograms, by version and status class."""
    if "latency_seconds" not in frame.columns:
        return
    latency = frame["latency_seconds"].to_numpy(dtype=np.float64, na_value=np.nan)
    if "status_code" in frame.columns:
        codes = frame["status_code"].to_numpy(dtype=np.float64, na_value=np.nan)
        classes = np.where(
            np.isnan(codes), "none", (np.nan_to_num(codes) // 100).astype(int).astype(str) + "xx"
        )
    else:
        classes = np.full(len(frame), "none")
    versions = frame["model_version"].astype(str).to_numpy()
    with stats.lock:
        for version in np.unique(versions):
            for status in np.unique(classes[versions == version]):
                rows = (versions == version) & (classes == status)
                key = (namespace, name, str(version), str(status))
                histogram = stats.latency.setdefault(key, Histogram(LATENCY_BUCKETS))
                histogram.observe(latency[rows])
