"""Settings of the aggregator process, as a documented frozen dataclass (built in ``deploy.config``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.settings import KafkaSettings
from agent.wire.format import HARDWARE_TOPIC, LABELS_TOPIC, PREDICTIONS_TOPIC

__all__ = ["AggregatorSettings"]


@dataclass(frozen=True, slots=True)
class AggregatorSettings:
    """How the aggregator consumes, checkpoints and serves metrics.

    Attributes:
        kafka: how to reach Kafka.
        group_id: the consumer group; aggregators in one group split the partitions (and so the models).
        topic: the predictions topic.
        labels_topic: the ground-truth labels topic (partitioned like ``topic``: a model's labels
            reach the aggregator that owns its predictions).
        checkpoint_topic: where partition checkpoints go
            (default ``modelmon.aggregator.<group>.checkpoints``).
        metrics_host, metrics_port: where ``/metrics`` is served (port 0 picks a free one).
        poll_timeout_ms: longest wait for new records in one poll.
        max_poll_records: records handed over by one poll at most.
        commit_interval_seconds: how often checkpoints and offsets are written when something changed.
        idle_advance_seconds: after this long without records on a partition, its watermark follows
            the wall clock, so the last windows of a model that stopped sending still close.
        session_timeout_ms, heartbeat_interval_ms: consumer-group liveness (Tansu answers a join after
            half the session timeout).
        auto_offset_reset: where a group with no checkpoint starts: ``earliest`` or ``latest``.
        compute_threads: threads that score a window's columns in parallel (0: one per core).
        join_state_dir: where the label join's state is snapshotted per partition, so a restart
            loses no waiting prediction or label (None: kept in memory only).
        join_snapshot_seconds: how often the snapshot is written (labels are committed up to it).
        join_max_pending: predictions a model keeps in memory while they wait for labels (about
            40 bytes each, so 10M ≈ 400 MB); beyond, the oldest spill to ``join_state_dir/spill``
            (17 bytes each stay in memory), or without a state directory are given up and counted
            (``evicted_predictions``).
        archive_dir: when set, every closed window's rows are also written to Parquet under this
            directory, for ``modelmon report`` (see docs/reports.md); a failed write is logged and
            never stops the aggregator.
        archive_keep_windows: the archive keeps this many windows per model/version/segment at
            most, deleting the oldest (0: no limit).
        label_api_token_file: a file holding the bearer token of the label HTTP endpoint
            (``POST /v1/labels``, see docs/labels.md), read once at start; unset: the endpoint is off.
        label_api_host, label_api_port: where the label endpoint listens (port 0 picks a free one).
        label_api_tls_cert_file, label_api_tls_key_file: when both are set, the label endpoint
            serves HTTPS (TLS 1.2 or newer) with this certificate chain and private key (PEM).
        hardware_topic: the agents' hardware samples (see docs/collectors.md); empty: not read.
        hardware_expire_seconds: a hardware series not updated for this long (a pod that went
            away, or moved to another aggregator) is no longer exported: a few collection intervals.
    """

    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    group_id: str = "modelmon-aggregator"
    topic: str = PREDICTIONS_TOPIC
    labels_topic: str = LABELS_TOPIC
    checkpoint_topic: str | None = None
    metrics_host: str = "0.0.0.0"
    metrics_port: int = 9400
    poll_timeout_ms: int = 200
    max_poll_records: int = 500
    commit_interval_seconds: float = 1.0
    idle_advance_seconds: float = 30.0
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 2_000
    auto_offset_reset: str = "earliest"
    compute_threads: int = 0
    join_state_dir: Path | None = None
    join_snapshot_seconds: float = 10.0
    join_max_pending: int = 10_000_000
    archive_dir: Path | None = None
    archive_keep_windows: int = 500
    label_api_token_file: Path | None = None
    label_api_host: str = "0.0.0.0"
    label_api_port: int = 9401
    label_api_tls_cert_file: Path | None = None
    label_api_tls_key_file: Path | None = None
    hardware_topic: str = HARDWARE_TOPIC
    hardware_expire_seconds: float = 30.0

    @property
    def resolved_checkpoint_topic(self) -> str:
        return self.checkpoint_topic or f"modelmon.aggregator.{self.group_id}.checkpoints"
