"""The SDK's per-call logger shares the sidecar's batcher, publisher and spool."""

from __future__ import annotations

import threading

from agent.publisher import Publisher
from agent.sdk import PredictionLogger
from agent.settings import KafkaSettings, PublisherSettings
from tests.agent.memory_broker import MemoryBroker
from tests.helpers import wait_until
from tests.unit.test_capture import SPEC


def test_calls_logged_from_many_threads_arrive_as_batched_rows():
    broker = MemoryBroker()
    with (
        Publisher(KafkaSettings(), PublisherSettings(), producer_factory=broker.factory) as publisher,
        PredictionLogger(publisher, specs={"ns/m": SPEC}, max_rows=100, max_seconds=60) as logger,
    ):

        def work(thread: int) -> None:
            for i in range(250):
                logger.log(
                    "ns/m", {"x": float(i), "y": 1.0}, {"p": 0.5}, version="v1", request_id=f"{thread}-{i}"
                )

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert logger.flush(5)
    batches = broker.decoded()
    assert all(len(b.frame) == 100 for b in batches) and len(batches) == 10  # by size, not per call
    ids = [i for b in batches for i in b.frame["request_id"]]
    assert sorted(ids) == sorted(f"{t}-{i}" for t in range(4) for i in range(250))


def test_old_rows_leave_by_age_and_an_outage_goes_to_the_shared_spool(tmp_path):
    broker = MemoryBroker()
    broker.down.set()
    settings = PublisherSettings(spool_dir=tmp_path / "spool", spool_retry_seconds=0.05)
    with (
        Publisher(KafkaSettings(), settings, producer_factory=broker.factory) as publisher,
        PredictionLogger(publisher, max_rows=10_000, max_seconds=0.1) as logger,
    ):
        given = [logger.log("ns/m", {"x": 1.0}, version="v1") for _ in range(5)]
        wait_until(lambda: publisher.stats().spooled == 5, 10, what="the rows spooled by age, Kafka down")
        broker.down.clear()
        wait_until(lambda: len(broker.decoded()) == 1, 10, what="the spool replayed")
    assert broker.decoded()[0].frame["request_id"].tolist() == given
