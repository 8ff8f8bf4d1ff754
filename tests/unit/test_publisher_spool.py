"""Kafka down: batches go to the disk spool, and come back in order when it returns; none lost."""

import numpy as np

from agent.publisher import Publisher
from agent.settings import KafkaSettings, PublisherSettings
from agent.wire.encode import build_prediction_batch
from tests.agent.memory_broker import MemoryBroker
from tests.helpers import wait_until


def _ids(broker: MemoryBroker) -> list[str]:
    return [i for batch in broker.decoded() for i in batch.frame["request_id"].tolist()]


def _batch(start: int):
    ids = [f"r{i}" for i in range(start, start + 10)]
    return build_prediction_batch("ns/m", {"x": np.arange(10.0)}, version="v1", request_ids=ids)


def test_while_kafka_is_down_batches_spool_and_replay_in_order_when_it_returns(tmp_path):
    broker = MemoryBroker()
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
    broker = MemoryBroker()
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
