import threading

import pytest

from agent.publisher import Publisher
from agent.sdk import log_predictions
from agent.settings import KafkaSettings, PublisherSettings
from agent.wire.encode import build_prediction_batch
from drift.core.decode import DecodedBatch, decode_predictions


class FakeFuture:
    def __init__(self):
        self.callbacks, self.errbacks = [], []

    def add_callback(self, fn):
        self.callbacks.append(fn)

    def add_errback(self, fn):
        self.errbacks.append(fn)


class FakeProducer:
    """An in-memory producer; deliveries are settled by the test."""

    def __init__(self, *_args):
        self.sent: list[tuple[str, bytes, bytes, list]] = []
        self.pending: list[FakeFuture] = []
        self.lock = threading.Lock()

    def send(self, topic, value, key, headers):
        future = FakeFuture()
        with self.lock:
            self.sent.append((topic, key, value, headers))
            self.pending.append(future)
        return future

    def settle(self, ok=True):
        with self.lock:
            pending, self.pending = self.pending, []
        for future in pending:
            for fn in future.callbacks if ok else future.errbacks:
                fn(None if ok else RuntimeError("broker down"))

    def flush(self, timeout=None):
        self.settle()

    def close(self, timeout=None):
        pass


def make(settings=None):
    producer = FakeProducer()
    publisher = Publisher(
        KafkaSettings(), settings or PublisherSettings(), producer_factory=lambda *_: producer
    )
    return publisher, producer


def test_published_batches_reach_the_producer_encoded_and_split():
    publisher, producer = make(PublisherSettings(max_rows_per_message=40))
    assert log_predictions(publisher, "a/m", {"x": list(range(100))}, version="v1") == 100
    assert publisher.flush(5)
    assert [len(decode_predictions(k, v, h).frame) for _t, k, v, h in producer.sent] == [40, 40, 20]
    assert all(isinstance(decode_predictions(k, v, h), DecodedBatch) for _t, k, v, h in producer.sent)
    stats = publisher.stats()
    assert (stats.enqueued, stats.sent, stats.messages_sent, stats.queued, stats.in_flight) == (
        100,
        100,
        3,
        0,
        0,
    )
    publisher.close()


def test_full_queue_drops_and_counts_without_blocking():
    gate = threading.Event()
    producer = FakeProducer()
    original = producer.send

    def slow_send(*args, **kwargs):
        gate.wait(5)
        return original(*args, **kwargs)

    producer.send = slow_send
    publisher = Publisher(
        KafkaSettings(), PublisherSettings(queue_max_records=150), producer_factory=lambda *_: producer
    )
    batch = build_prediction_batch("a/m", {"x": [1.0] * 100}, version="v1")
    results = [publisher.publish("a/m", batch) for _ in range(3)]
    assert results.count(False) >= 1
    gate.set()
    assert publisher.flush(5)
    stats = publisher.stats()
    assert stats.dropped["queue_full"] == 100 * results.count(False)
    assert stats.sent + stats.dropped["queue_full"] == 300
    publisher.close()


def test_failed_deliveries_are_counted():
    publisher, producer = make()
    producer.flush = lambda timeout=None: producer.settle(ok=False)
    log_predictions(publisher, "a/m", {"x": [1.0, 2.0]}, version="v1")
    assert publisher.flush(5)
    assert publisher.stats().dropped == {"delivery_failed": 2}
    publisher.close()


def test_model_identity_must_be_namespaced():
    publisher, _ = make()
    with pytest.raises(Exception, match="namespace/name"):
        log_predictions(publisher, "no-namespace", {"x": [1.0]})
    publisher.close()
