"""Thin adapters around the drift core: the Kafka consumer loop, checkpoints, the Prometheus exporter.

Names load on first use (PEP 562), so reading ``drift.adapters.settings`` — as the sidecar's
settings loader does — does not import pandas and the drift core.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "Aggregator": "drift.adapters.aggregator",
    "WindowSink": "drift.adapters.aggregator",
    "CheckpointStore": "drift.adapters.checkpoints",
    "KafkaCheckpointStore": "drift.adapters.checkpoints",
    "MemoryCheckpointStore": "drift.adapters.checkpoints",
    "ModelmonCollector": "drift.adapters.prometheus",
    "ResultStore": "drift.adapters.prometheus",
    "serve_metrics": "drift.adapters.prometheus",
    "ReferenceCache": "drift.adapters.references",
    "AggregatorSettings": "drift.adapters.settings",
    "AggregatorStats": "drift.adapters.stats",
}

__all__ = [
    "Aggregator",
    "AggregatorSettings",
    "AggregatorStats",
    "CheckpointStore",
    "KafkaCheckpointStore",
    "MemoryCheckpointStore",
    "ModelmonCollector",
    "ReferenceCache",
    "ResultStore",
    "WindowSink",
    "serve_metrics",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
