"""Kafka down: batches go to the disk spool, and come back in order when it returns; none lost."""

import threading

import numpy as np

from agent.publisher import Publisher
from agent.settings import KafkaSettings, PublisherSettings
from agent.wire.encode import build_prediction_batch
from drift.core.decode import DecodedBatch, decode_predictions
from tests.helpers import wait_until


class Delivered:
    """A future that has already succeeded."""

    def add_callback(self, fn):
        fn(None)

    def add_errback(self, fn):
        return None

    def get(self, timeout=None):
        return None


class FlakyBroker:
    """An in-memory producer that refuses every send while ``down`` is set."""

    def __init__(self):
        self.down = threading.Event()
        self.received: list[bytes] = []
        self.lock = threading.Lock()

    def send(self, topic, value, key, headers):
        if self.down.is_set():
            raise ConnectionError("broker down")
        with self.lock:
            self.received.append(value)
        return Delivered()

    def flush(self, timeout=None):
        return None

    def close(self, timeout=None):
        return None


def _ids(broker: FlakyBroker) -> list[str]:
    ids = []
    with broker.lock:
        for value in broker.received:
            decoded = decode_predictions(b"ns/m", value, [("modelmon-schema-version", b"1")])
            assert isinstance(decoded, DecodedBatch)
            ids += decoded.frame["request_id"].tolist()
    return ids


def _batch(start: int):
    ids = [f"r{i}" for i in range(start, start + 10)]
    return build_prediction_batch("ns/m", {"x": np.arange(10.0)}, version="v1", request_ids=ids)


def test_while_kafka_is_down_batches_spool_and_replay_in_order_when_it_returns(tmp_path):
    broker = FlakyBroker()
    settings = PublisherSettings(spool_dir=tmp_path / "spool", spool_retry_seconds=0.05)
    publisher = Publisher(KafkaSettings(), settings, producer_factory=lambda *_: broker)
    try:
        for start in range(0, 50, 10):
            publisher.publish("ns/m", _batch(start))
        assert publisher.flush(10)
        broker.down.set()
        for start in range(50, 200, 10):
            publisher.publish("ns/m", _batch(start))
        wait_until(lambda: publisher.stats().spooled == 150, 10, what="the down-time batches spooled")
        assert publisher.stats().spool_bytes > 0
        broker.down.clear()
        for start in range(200, 250, 10):  # new traffic waits behind the spool: order is kept
            publisher.publish("ns/m", _batch(start))
        wait_until(lambda: publisher.stats().spool_bytes == 0 and len(_ids(broker)) == 250, 10, what="replay")
        assert _ids(broker) == [f"r{i}" for i in range(250)]
        stats = publisher.stats()
        assert stats.sent == 250 and stats.dropped == {} and stats.replayed >= 150
    finally:
        broker.down.clear()
        publisher.close(5)


def test_a_full_spool_counts_what_it_drops(tmp_path):
    broker = FlakyBroker()
    broker.down.set()
    settings = PublisherSettings(spool_dir=tmp_path / "spool", spool_max_bytes=4_000, spool_retry_seconds=60)
    publisher = Publisher(KafkaSettings(), settings, producer_factory=lambda *_: broker)
    try:
        for start in range(0, 500, 10):
            publisher.publish("ns/m", _batch(start))
        wait_until(
            lambda: publisher.stats().queued == 0 and publisher.stats().in_flight == 0, 10, what="all handled"
        )
        stats = publisher.stats()
        assert stats.spool_bytes <= 4_000
        assert stats.dropped.get("spool_full", 0) > 0
        assert publisher.spool is not None
        kept = sum(m.rows for m in publisher.spool.replay())
        assert kept > 0 and stats.dropped["spool_full"] + kept == 500  # every record kept or counted
    finally:
        broker.down.clear()
        publisher.close(5)
