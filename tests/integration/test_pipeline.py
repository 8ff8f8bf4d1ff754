"""Predictions through the real broker (Tansu) into the real aggregator."""

from __future__ import annotations

import threading
import uuid

import numpy as np
import pandas as pd
import pytest
from kafka import KafkaProducer

from agent.publisher import Publisher
from agent.sdk import log_predictions
from agent.settings import KafkaSettings
from agent.wire import build_prediction_batch, encode_message
from agent.wire.format import HEADER_SCHEMA_VERSION
from drift.adapters.aggregator import Aggregator
from drift.adapters.checkpoints import KafkaCheckpointStore
from drift.adapters.settings import AggregatorSettings
from tests.helpers import RecordingSink, small_catalog, wait_until

pytestmark = pytest.mark.integration


class Running:
    """An aggregator on its own thread, stopped (with a clean hand-over) by ``stop``."""

    def __init__(
        self, kafka: KafkaSettings, topic: str, group: str, catalog, partitions: int, tracer_provider=None
    ) -> None:
        self.settings = AggregatorSettings(
            kafka=kafka,
            group_id=group,
            topic=topic,
            checkpoint_topic=f"{topic}.checkpoints",
            labels_topic=f"{topic}.labels",
            poll_timeout_ms=100,
            commit_interval_seconds=0.2,
            idle_advance_seconds=1.0,
            session_timeout_ms=6_000,
            heartbeat_interval_ms=1_000,
        )
        self.sink = RecordingSink()
        from drift.adapters.checkpoints import ensure_topic

        ensure_topic(kafka, self.settings.labels_topic, partitions)
        checkpoints = KafkaCheckpointStore(kafka, self.settings.resolved_checkpoint_topic, partitions)
        self.aggregator = Aggregator(
            self.settings,
            catalog,
            self.sink,
            checkpoints,
            quality_sink=self.sink,
            tracer_provider=tracer_provider,
        )
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.aggregator.run, args=(self.stop_event,), daemon=True)
        self.thread.start()

    def partitions(self) -> set[int]:
        return set(self.aggregator._states)

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


def _publish(
    kafka: KafkaSettings, topic: str, models: list[str], rows: int, start: float, seed: int
) -> pd.DataFrame:
    """Log ``rows`` predictions per model with event times from ``start`` over 4 s; return what was sent."""
    from agent.settings import PublisherSettings

    rng = np.random.default_rng(seed)
    sent = []
    with Publisher(kafka, PublisherSettings(topic=topic)) as publisher:
        for model in models:
            for chunk in np.array_split(np.arange(rows), 5):
                ids = [f"{model}-{seed}-{i}" for i in chunk]
                x, y, p = rng.normal(size=len(chunk)), rng.normal(size=len(chunk)), rng.random(len(chunk))
                times = start + chunk / rows * 4.0
                log_predictions(
                    publisher,
                    model,
                    {"x": x, "y": y},
                    {"p": p},
                    version="v1",
                    request_ids=ids,
                    event_times=times,
                    latencies=rng.random(len(chunk)),
                )
                sent.append(pd.DataFrame({"request_id": ids, "feature.x": x, "feature.y": y, "output.p": p}))
        assert publisher.flush(30)
        assert publisher.stats().sent == rows * len(models)
    return pd.concat(sent, ignore_index=True)


def test_round_trip_every_prediction_arrives_once_with_identical_values(kafka, new_topic):
    catalog = small_catalog(models=3)
    topic = new_topic(partitions=2)
    running = Running(kafka, topic, f"g-{uuid.uuid4().hex[:8]}", catalog, 2)
    try:
        sent = _publish(kafka, topic, sorted(catalog.models), rows=1_000, start=1_700_000_000.0, seed=1)
        wait_until(lambda: running.sink.records() == len(sent), 60, what="every record in a closed window")
    finally:
        running.stop()
    received = pd.concat(running.sink.frames, ignore_index=True)
    assert received["request_id"].is_unique
    merged = sent.merge(received, on="request_id", suffixes=("_sent", "_got"), validate="one_to_one")
    assert len(merged) == len(sent) == 3_000
    for column in ("feature.x", "feature.y", "output.p"):
        np.testing.assert_array_equal(merged[f"{column}_sent"], merged[f"{column}_got"])
    windows = [(r.key.model, r.key.start_us) for r in running.sink.results]
    assert len(windows) == len(set(windows)) == 3 * 4  # 4 one-second windows per model, each once


def test_bad_messages_are_counted_by_reason_and_the_consumer_keeps_going(kafka, new_topic):
    catalog = small_catalog(models=1)
    topic = new_topic(partitions=1)
    producer = KafkaProducer(**kafka.client_config())
    version = [(HEADER_SCHEMA_VERSION, b"1")]
    producer.send(topic, key=b"test/m0", value=b"\x00\x01 not arrow", headers=version)
    good = build_prediction_batch(
        "test/m0", {"x": [1.0] * 10, "y": [2.0] * 10}, version="v1", event_times=[1_700_000_000.0] * 10
    )
    message = encode_message("test/m0", good)
    producer.send(topic, key=message.key, value=message.value, headers=[(HEADER_SCHEMA_VERSION, b"9")])
    empty = encode_message("test/m0", good.slice(0, 0))
    producer.send(topic, key=empty.key, value=empty.value, headers=empty.headers)
    mismatch = encode_message("nobody/else", good)  # rows say test/m0
    producer.send(topic, key=mismatch.key, value=mismatch.value, headers=mismatch.headers)
    unknown = encode_message("nobody/else", build_prediction_batch("nobody/else", {"x": [1.0]}, version="v1"))
    producer.send(topic, key=unknown.key, value=unknown.value, headers=unknown.headers)
    producer.send(topic, key=message.key, value=message.value, headers=message.headers)
    producer.flush(10)
    producer.close()
    running = Running(kafka, topic, f"g-{uuid.uuid4().hex[:8]}", catalog, 1)
    try:
        wait_until(lambda: running.sink.records() == 10, 60, what="the good batch after the bad ones")
    finally:
        running.stop()
    rejected = dict(running.aggregator.stats.messages_rejected)
    assert rejected == {
        (topic, "malformed"): 1,
        (topic, "unsupported_schema_version"): 1,
        (topic, "empty_batch"): 1,
        (topic, "key_mismatch"): 1,
        (topic, "unknown_model"): 1,
    }
    assert running.aggregator.stats.messages[topic] == 6


def test_two_aggregators_split_models_and_hand_over_without_loss_or_double_count(kafka, new_topic):
    catalog = small_catalog(models=6)
    models = sorted(catalog.models)
    topic = new_topic(partitions=4)
    group = f"g-{uuid.uuid4().hex[:8]}"
    first = Running(kafka, topic, group, catalog, 4)
    second = Running(kafka, topic, group, catalog, 4)
    try:
        wait_until(
            lambda: (
                first.partitions()
                and second.partitions()
                and first.partitions() | second.partitions() == {0, 1, 2, 3}
                and not first.partitions() & second.partitions()
            ),
            60,
            what="both members to own partitions",
        )
        phase1 = _publish(kafka, topic, models, rows=400, start=1_700_000_000.0, seed=2)
        # Windows of phase 1 stay open (nothing newer arrives until idle advance), so the hand-over
        # below carries open windows across.
        wait_until(
            lambda: (
                first.sink.records() + second.sink.records() >= 0
                and sum(s.aggregator.stats.messages[topic] for s in (first, second)) == 5 * len(models)
            ),
            60,
            what="phase 1 consumed",
        )
        first.stop()
        wait_until(
            lambda: second.partitions() == {0, 1, 2, 3}, 60, what="the survivor to own every partition"
        )
        phase2 = _publish(kafka, topic, models, rows=400, start=1_700_000_004.0, seed=3)
        total = len(phase1) + len(phase2)
        wait_until(
            lambda: first.sink.records() + second.sink.records() == total, 60, what="every record counted"
        )
    finally:
        second.stop()
        if first.thread.is_alive():
            first.stop()
    results = first.sink.results + second.sink.results
    keys = [(r.key.model, r.key.version, r.key.start_us) for r in results]
    assert len(keys) == len(set(keys)), "a window was computed twice"
    assert {k[0] for k in keys} == set(models)
    assert len(keys) == 8 * len(models)  # 8 one-second windows per model, none lost
    ids = pd.concat(first.sink.frames + second.sink.frames)["request_id"]
    assert ids.is_unique and len(ids) == total
    assert set(ids) == set(phase1["request_id"]) | set(phase2["request_id"])


WINDOW_KINDS_CATALOG = """
models:
  - namespace: test
    name: sliding
    versions: [v1]
    window: {type: sliding, size: 2s, slide: 1s, allowed_lateness: 0s}
    drift: {min_window_records: 5}
    features: [{name: x, type: float}, {name: region, type: category}]
    outputs: [{name: p, type: float}]
  - namespace: test
    name: counted
    versions: [v1]
    window: {type: count, records: 150}
    drift: {min_window_records: 5}
    features: [{name: x, type: float}, {name: region, type: category}]
    outputs: [{name: p, type: float}]
  - namespace: test
    name: segmented
    versions: [v1]
    window: {size: 1s, allowed_lateness: 0s}
    drift: {min_window_records: 5}
    features: [{name: x, type: float}, {name: region, type: category}]
    outputs: [{name: p, type: float}]
    segments: [{column: region, max_cardinality: 2}]
"""


def test_sliding_count_and_segmented_windows_through_the_broker(kafka, new_topic):
    from agent.catalog import parse_catalog
    from agent.settings import PublisherSettings

    catalog = parse_catalog(WINDOW_KINDS_CATALOG)
    topic = new_topic(partitions=2)
    running = Running(kafka, topic, f"g-{uuid.uuid4().hex[:8]}", catalog, 2)
    rng = np.random.default_rng(4)
    rows = 600
    try:
        with Publisher(kafka, PublisherSettings(topic=topic)) as publisher:
            for model in sorted(catalog.models):
                for chunk in np.array_split(np.arange(rows), 4):
                    region = rng.choice(["a", "b", "c", "d"], len(chunk), p=[0.5, 0.3, 0.15, 0.05])
                    log_predictions(
                        publisher,
                        model,
                        {"x": rng.normal(size=len(chunk)), "region": region},
                        {"p": rng.random(len(chunk))},
                        version="v1",
                        request_ids=[f"{model}-{i}" for i in chunk],
                        event_times=1_700_000_000.0 + chunk / rows * 4.0,
                    )
            assert publisher.flush(30)

        def fresh(model: str, segment: str = "") -> int:
            with running.sink.lock:
                return sum(
                    r.fresh_records
                    for r in running.sink.results
                    if r.key.model == model and r.key.segment == segment
                )

        wait_until(
            lambda: all(fresh(m) == rows for m in ("test/sliding", "test/counted", "test/segmented")),
            60,
            what="every record of every model in a closed window, counted once",
        )
    finally:
        running.stop()
    with running.sink.lock:
        results = list(zip(running.sink.results, running.sink.frames, strict=True))
    sliding = sorted((r.key.start_us, len(f)) for r, f in results if r.key.model == "test/sliding")
    # Four seconds of traffic: five two-second windows starting every second, each with its rows.
    assert [start - sliding[0][0] for start, _ in sliding] == [i * 1_000_000 for i in range(5)]
    assert sum(n for _, n in sliding) == 2 * rows
    counted = [len(f) for r, f in results if r.key.model == "test/counted"]
    assert counted == [150] * 4
    segmented = {r.key.segment for r, _ in results if r.key.model == "test/segmented"}
    assert segmented == {"", "region=a", "region=b", "region=__other__"}  # no reference: the window's top 2
    for start in {r.key.start_us for r, _ in results if r.key.model == "test/segmented"}:
        parts = [r.records for r, _ in results if r.key.model == "test/segmented" and r.key.start_us == start]
        whole = next(
            r.records
            for r, _ in results
            if r.key.model == "test/segmented" and r.key.start_us == start and not r.key.segment
        )
        assert sum(parts) == 2 * whole  # the segments partition the window
    overflow = running.aggregator.stats.segment_overflow[("test", "segmented", "v1", "region")]
    assert overflow == sum(
        r.records
        for r, _ in results
        if r.key.model == "test/segmented" and r.key.segment == "region=__other__"
    )
