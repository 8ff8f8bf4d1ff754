"""The aggregator's own counters, written by its loop and read by the exporter."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["AggregatorStats"]


@dataclass
class AggregatorStats:
    """Counters by label tuple. Writers and readers take ``lock``; readers get copies."""

    messages: Counter[str] = field(default_factory=Counter)  # by topic
    messages_rejected: Counter[tuple[str, str]] = field(default_factory=Counter)  # (topic, reason)
    records_rejected: Counter[tuple[str, str]] = field(default_factory=Counter)  # (topic, reason)
    commits: Counter[str] = field(default_factory=Counter)  # by topic
    sink_failures: Counter[str] = field(default_factory=Counter)  # by sink class (archive, store)
    # (namespace, model, version, segment column) -> records beyond the segment's cardinality cap
    segment_overflow: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    open_windows: int = 0
    partitions: dict[str, int] = field(default_factory=dict)  # topic -> assigned partitions
    lag: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> records
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
