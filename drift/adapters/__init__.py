"""Thin adapters around the drift core: the Kafka consumer loop, checkpoints, the Prometheus exporter."""

from drift.adapters.aggregator import Aggregator, WindowSink
from drift.adapters.checkpoints import CheckpointStore, KafkaCheckpointStore, MemoryCheckpointStore
from drift.adapters.prometheus import ModelmonCollector, ResultStore, serve_metrics
from drift.adapters.references import ReferenceCache
from drift.adapters.settings import AggregatorSettings
from drift.adapters.stats import AggregatorStats

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
