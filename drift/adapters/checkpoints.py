"""Where partition checkpoints are kept: a Kafka topic in production, memory in unit tests.

Kafka's committed offset alone cannot carry the watermark (brokers such as Tansu drop commit
metadata), so each checkpoint is a small JSON record. Checkpoint topic partition ``p`` holds the
checkpoints of input partition ``p``, so the newest one is simply the partition's last record.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Protocol

from agent.settings import KafkaSettings
from drift.core.windows import Checkpoint, CountPosition

__all__ = ["CheckpointStore", "KafkaCheckpointStore", "MemoryCheckpointStore"]

log = logging.getLogger(__name__)


class CheckpointStore(Protocol):
    def load(self, partition: int) -> Checkpoint | None: ...
    def save(self, checkpoints: list[Checkpoint]) -> None: ...
    def close(self) -> None: ...


class MemoryCheckpointStore:
    """Checkpoints in a dict, for tests and single-process runs. Shareable between threads."""

    def __init__(self) -> None:
        self._items: dict[int, Checkpoint] = {}
        self._lock = threading.Lock()

    def load(self, partition: int) -> Checkpoint | None:
        with self._lock:
            return self._items.get(partition)

    def save(self, checkpoints: list[Checkpoint]) -> None:
        with self._lock:
            for checkpoint in checkpoints:
                self._items[checkpoint.partition] = checkpoint

    def close(self) -> None:
        return None


def _encode(checkpoint: Checkpoint) -> bytes:
    return json.dumps(
        {
            "v": 1,
            "partition": checkpoint.partition,
            "safe_offset": checkpoint.safe_offset,
            "replay_until": checkpoint.replay_until,
            "watermarks_us": checkpoint.watermarks_us,
            "count_positions": [
                [model, version, position.offset, position.skip_rows]
                for (model, version), position in checkpoint.count_positions.items()
            ],
        }
    ).encode()


def _decode(value: bytes) -> Checkpoint:
    doc: dict[str, Any] = json.loads(value)
    return Checkpoint(
        doc["partition"],
        doc["safe_offset"],
        doc["replay_until"],
        {str(k): int(v) for k, v in doc["watermarks_us"].items()},
        {
            (str(model), str(version)): CountPosition(int(offset), int(skip))
            for model, version, offset, skip in doc.get("count_positions", [])
        },
    )


class KafkaCheckpointStore:
    """Checkpoints in a Kafka topic with as many partitions as the input topic."""

    def __init__(
        self, kafka: KafkaSettings, topic: str, partitions: int, timeout_seconds: float = 10.0
    ) -> None:
        from kafka import KafkaConsumer, KafkaProducer

        self.topic = topic
        self._timeout = timeout_seconds
        ensure_topic(kafka, topic, partitions)
        self._producer = KafkaProducer(**kafka.client_config(), acks="all", linger_ms=0)
        self._consumer = KafkaConsumer(**kafka.client_config(), enable_auto_commit=False, group_id=None)
        self._lock = threading.Lock()

    def save(self, checkpoints: list[Checkpoint]) -> None:
        futures = [
            self._producer.send(
                self.topic, value=_encode(c), key=str(c.partition).encode(), partition=c.partition
            )
            for c in checkpoints
        ]
        for future in futures:
            future.get(timeout=self._timeout)

    def load(self, partition: int) -> Checkpoint | None:
        from kafka import TopicPartition

        tp = TopicPartition(self.topic, partition)
        with self._lock:
            self._consumer.assign([tp])
            end = self._consumer.end_offsets([tp])[tp]
            if not end:
                return None
            self._consumer.seek(tp, end - 1)
            deadline = time.monotonic() + self._timeout
            while time.monotonic() < deadline:
                for records in self._consumer.poll(timeout_ms=200).values():
                    if records:
                        return _decode(records[-1].value)
        raise TimeoutError(f"could not read the checkpoint of partition {partition} from {self.topic}")

    def close(self) -> None:
        self._producer.close(5)
        self._consumer.close()


def ensure_topic(kafka: KafkaSettings, topic: str, partitions: int) -> int:
    """Create ``topic`` with ``partitions`` partitions unless it exists; return its partition count."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(**kafka.client_config())
    try:
        try:
            admin.create_topics([NewTopic(topic, partitions, 1)])
            log.info("created topic %s with %d partitions", topic, partitions)
        except TopicAlreadyExistsError:
            pass
        described = admin.describe_topics([topic])
        return len(described[0]["partitions"])
    finally:
        admin.close()
