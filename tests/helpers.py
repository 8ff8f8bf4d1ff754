"""Helpers shared by tests: catalogs, a recording sink, and waiting on conditions with a deadline."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from agent.catalog.load import parse_catalog
from agent.catalog.model import Catalog, ModelSpec
from deploy.processes import wait_until
from drift.core.quality_windows import QualityResult
from drift.core.results import WindowResult

__all__ = [
    "RecordingSink",
    "aggregator_process",
    "aggregator_settings",
    "read_batches",
    "small_catalog",
    "wait_until",
]


def small_catalog(models: int = 1, window: str = "1s", lateness: str = "0s", min_records: int = 5) -> Catalog:
    entries = "\n".join(
        f"""  - namespace: test
    name: m{i}
    versions: [v1]
    window: {{size: {window}, allowed_lateness: {lateness}}}
    drift: {{min_window_records: {min_records}}}
    features: [{{name: x, type: float}}, {{name: y, type: float}}]
    outputs: [{{name: p, type: float}}]"""
        for i in range(models)
    )
    return parse_catalog(f"models:\n{entries}\n")


@dataclass
class RecordingSink:
    """Keeps every published window, with its rows, and every quality update, in publication order."""

    results: list[WindowResult] = field(default_factory=list)
    frames: list[pd.DataFrame] = field(default_factory=list)
    quality: list[QualityResult] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, model: ModelSpec, result: WindowResult, frame: pd.DataFrame) -> None:
        with self.lock:
            self.results.append(result)
            self.frames.append(frame)

    def publish_quality(self, model: ModelSpec, result: QualityResult) -> None:
        with self.lock:
            self.quality.append(result)

    def records(self) -> int:
        with self.lock:
            return sum(r.records for r in self.results)


def aggregator_process(
    settings: Path, catalog: Path, bootstrap: str, port: int, group: str
) -> subprocess.Popen[str]:
    """``modelmon aggregator run`` as a real process, configured by its settings file and env."""
    env = os.environ | {
        "MODELMON_KAFKA_BOOTSTRAP": bootstrap,
        "MODELMON_METRICS_PORT": str(port),
        "MODELMON_AGGREGATOR_GROUP": group,
    }
    command = [sys.executable, "-m", "deploy.cli", "--config", str(settings), "aggregator", "run"]
    return subprocess.Popen(
        [*command, "--catalog", str(catalog)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_batches(kafka, topic: str, rows: int, decode, timeout: float = 15, partitions: int = 1) -> list:
    """Every message of ``topic`` from the start, decoded with ``decode``, once ``rows`` rows arrived."""
    from kafka import KafkaConsumer, TopicPartition

    from drift.core.decode import DecodedBatch

    consumer = KafkaConsumer(**kafka.client_config(), enable_auto_commit=False, group_id=None)
    consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
    consumer.seek_to_beginning()
    batches: list[DecodedBatch] = []

    def arrived() -> bool:
        for records in consumer.poll(timeout_ms=200).values():
            for record in records:
                decoded = decode(record.key, record.value, record.headers)
                assert isinstance(decoded, DecodedBatch), decoded
                batches.append(decoded)
        return sum(len(b.frame) for b in batches) >= rows

    try:
        wait_until(arrived, timeout, what=f"{rows} rows on {topic}")
    finally:
        consumer.close()
    return batches


def aggregator_settings(kafka, topic: str, **overrides):
    """Settings of a test aggregator on ``topic``: its own group and topics, fast polls and group joins."""
    from drift.adapters.settings import AggregatorSettings

    return AggregatorSettings(
        **{
            "kafka": kafka,
            "group_id": f"g-{topic}",
            "topic": topic,
            "labels_topic": f"{topic}.labels",
            "hardware_topic": f"{topic}.hardware",
            "metrics_host": "127.0.0.1",
            "metrics_port": 0,
            "poll_timeout_ms": 100,
            "idle_advance_seconds": 1.0,
            "session_timeout_ms": 6_000,
            "heartbeat_interval_ms": 1_000,
        }
        | overrides
    )
